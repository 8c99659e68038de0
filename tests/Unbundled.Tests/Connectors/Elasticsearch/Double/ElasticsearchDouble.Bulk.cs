using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// The _bulk API as the Bulk reference describes it: NDJSON ending in a newline; the whole request
/// validated first (an empty <c>_id</c>, one over 512 bytes — the _id field reference's limit — or a
/// missing <c>_id</c> on a delete fails the entire request with 400 action_request_validation_exception);
/// then each item on its own: external versions, tombstones, auto-created indices (a delete creates
/// one only with external versioning), aliases through their write index, and the mapping's checks.
/// </summary>
public sealed partial class ElasticsearchDouble
{
    private sealed record BulkAction(string Kind, string Index, string? Id, long? Version, string? VersionType, JsonObject? Source);

    private async Task<JsonObject> BulkAsync(HttpRequest request, string? defaultIndex)
    {
        var text = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync();
        if (text.Length > 0 && !text.EndsWith('\n')) throw EsError.BadRequest("The bulk request must be terminated by a newline [\\n]");
        var actions = Parse(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), defaultIndex);
        if (actions.Count == 0) throw new EsError(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;");
        var problems = actions.Select(a => a.Id is { } id && InvalidIds.Contains(id) ? $"id [{id}] is refused by this test" : Validate(a)).Where(p => p is not null).ToList();
        if (problems.Count > 0)
            throw new EsError(400, "action_request_validation_exception", "Validation Failed: " + string.Concat(problems.Select((p, i) => $"{i + 1}: {p};")));

        // ?refresh and ?refresh=wait_for both leave the writes searchable when the answer comes.
        var refresh = request.Query.TryGetValue("refresh", out var refreshParameter) && refreshParameter.ToString() is "" or "true" or "wait_for";
        var items = new JsonArray();
        var errors = false;
        lock (_gate)
        {
            foreach (var action in actions)
            {
                var item = Apply(action);
                errors |= item["error"] is not null;
                items.Add(new JsonObject { [action.Kind] = item });
            }
            if (refresh)
            {
                foreach (var index in actions.Select(a => a.Index).Distinct().Where(_indices.ContainsKey)) _indices[index].Refresh();
            }
        }
        return new JsonObject { ["errors"] = errors, ["took"] = 1, ["items"] = items };
    }

    private static List<BulkAction> Parse(string[] lines, string? defaultIndex)
    {
        var actions = new List<BulkAction>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = JsonNode.Parse(lines[i]) as JsonObject ?? throw EsError.BadRequest($"Malformed action/metadata line [{i + 1}], expected START_OBJECT");
            if (line.Count != 1 || line.First().Value is not JsonObject meta)
                throw EsError.BadRequest($"Malformed action/metadata line [{i + 1}], expected START_OBJECT or END_OBJECT");
            var kind = line.First().Key;
            if (kind is not ("index" or "create" or "delete" or "update"))
                throw EsError.BadRequest($"Malformed action/metadata line [{i + 1}], expected one of [create, delete, index, update] but found [{kind}]");
            if (kind == "update") throw new NotSupportedException("update actions in _bulk");
            foreach (var (key, _) in meta)
            {
                if (key is not ("_index" or "_id" or "version" or "version_type" or "routing" or "if_seq_no" or "if_primary_term"))
                    throw EsError.BadRequest($"Action/metadata line [{i + 1}] contains an unknown parameter [{key}]");
            }
            var index = (string?)meta["_index"] ?? defaultIndex ?? throw new EsError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;");
            JsonObject? source = null;
            if (kind != "delete")
            {
                if (++i >= lines.Length) throw EsError.BadRequest($"Validation Failed: 1: source is missing for action [{kind}] on line [{i}]");
                source = JsonNode.Parse(lines[i]) as JsonObject ?? throw new EsError(400, "document_parsing_exception", "[1:1] failed to parse: the document must be an object");
            }
            actions.Add(new BulkAction(kind, index, (string?)meta["_id"], (long?)meta["version"], (string?)meta["version_type"], source));
        }
        return actions;
    }

    private static string? Validate(BulkAction action)
    {
        if (action.Id is null) return action.Kind == "delete" ? "id is missing" : null;
        if (action.Id.Length == 0) return "if _id is specified it must not be empty";
        var bytes = Encoding.UTF8.GetByteCount(action.Id);
        if (bytes > 512) return $"id [{action.Id}] is too long, must be no longer than 512 bytes but was: {bytes}";
        if (action.VersionType is "external" or "external_gte" && action.Version is null) return "an external version is required for version_type [external]";
        return null;
    }

    private JsonObject Apply(BulkAction action)
    {
        var id = action.Id ?? Guid.NewGuid().ToString("N")[..20];
        if (RejectNextItems > 0)
        {
            RejectNextItems--;
            return new EsError(429, "es_rejected_execution_exception", "rejected execution of coordinating operation").Item(action.Index, id);
        }
        var external = action.VersionType is "external" or "external_gte";
        IndexState index;
        try
        {
            if (!_indices.ContainsKey(action.Index) && !_aliases.ContainsKey(action.Index))
            {
                // Auto-creation (action.auto_create_index): never for a plain delete, which only reports the index missing.
                if (action.Kind == "delete" && !external) return EsError.IndexNotFound(action.Index).Item(action.Index, id);
                ValidateIndexName(action.Index);
                _indices[action.Index] = new IndexState(action.Index, IndexSettings.Parse(null), IndexMapping.Parse(null, 1000));
            }
            index = ResolveOne(action.Index, write: true);
        }
        catch (EsError error)
        {
            return error.Item(action.Index, id);
        }

        var now = Now;
        var held = index.HeldVersion(id, now);
        var exists = index.Live.TryGetValue(id, out var current) && current.Source is not null;
        if (action.Kind == "create" && exists)
            return new EsError(409, "version_conflict_engine_exception", $"[{id}]: version conflict, document already exists (current version [{current!.Version}])").Item(index.Name, id);
        if (external && held is { } existing && (action.VersionType == "external" ? action.Version <= existing : action.Version < existing))
            return new EsError(409, "version_conflict_engine_exception",
                $"[{id}]: version conflict, current version [{existing}] is higher or equal to the one provided [{action.Version}]").Item(index.Name, id);
        var version = external ? action.Version!.Value : (held ?? 0) + 1;

        if (action.Kind == "delete")
        {
            index.Write(id, version, null, now);
            return Result(index.Name, id, version, exists ? "deleted" : "not_found", exists ? 200 : 404);
        }
        if (index.Mapping.Admit(action.Source!, id, index.Settings.TotalFieldsLimit) is { } refused) return refused.Item(index.Name, id);
        index.Write(id, version, action.Source, now);
        return Result(index.Name, id, version, exists ? "updated" : "created", exists ? 200 : 201);
    }

    private static JsonObject Result(string index, string id, long version, string result, int status) => new()
    {
        ["_index"] = index, ["_id"] = id, ["_version"] = version, ["result"] = result,
        ["_shards"] = new JsonObject { ["total"] = 1, ["successful"] = 1, ["failed"] = 0 },
        ["_seq_no"] = 0, ["_primary_term"] = 1, ["status"] = status,
    };
}

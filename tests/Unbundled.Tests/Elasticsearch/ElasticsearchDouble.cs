using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Unbundled.Tests.Elasticsearch;

/// <summary>
/// A strict in-process stand-in for the subset of the Elasticsearch REST API the connector uses,
/// written from Elastic's reference: index creation (settings, mappings, aliases), HEAD, _bulk with
/// external versions (409 on stale versions, tombstones after deletes), dynamic mapping with type
/// conflicts (400 document_parsing_exception), get, _search with query_string/match/match_all,
/// _aliases, the error shapes, the NDJSON rules and the X-elastic-product header. Its own tests keep
/// it honest; it is no substitute for the real-cluster run that ELASTICSEARCH_URL enables.
/// </summary>
public sealed partial class ElasticsearchDouble : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IndexState> _indices = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);

    private ElasticsearchDouble(WebApplication app) => _app = app;

    /// <summary>The double's base URL.</summary>
    public string Url => _app.Urls.First();

    /// <summary>Makes the next bulk items answer 429, as a cluster under pressure does.</summary>
    public int RejectNextItems { get; set; }

    /// <summary>Starts the double on a free loopback port.</summary>
    public static async Task<ElasticsearchDouble> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var double_ = new ElasticsearchDouble(app);
        app.Use(async (context, next) =>
        {
            context.Response.Headers["X-elastic-product"] = "Elasticsearch";
            await next(context);
        });
        app.MapMethods("/{index}", ["HEAD"], (string index) => double_.Resolve(index) is null ? Results.NotFound() : Results.Ok());
        app.MapPut("/{index}", double_.CreateIndexAsync);
        app.MapPost("/_bulk", double_.BulkAsync);
        app.MapGet("/{index}/_doc/{id}", double_.Get);
        app.MapPost("/{index}/_search", double_.SearchAsync);
        app.MapPost("/_aliases", double_.UpdateAliasesAsync);
        app.MapGet("/_alias/{alias}", double_.GetAlias);
        app.MapDelete("/{index}", double_.DeleteIndex);
        await app.StartAsync();
        return double_;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    /// <summary>The settings an index was created with.</summary>
    public JsonObject? SettingsOf(string index)
    {
        lock (_gate) return _indices.TryGetValue(index, out var state) ? state.Settings : null;
    }

    private sealed class IndexState
    {
        public JsonObject? Settings { get; set; }

        public Dictionary<string, (long Version, JsonObject? Source)> Documents { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, string> Mappings { get; } = new(StringComparer.Ordinal);
    }

    private string? Resolve(string name)
    {
        lock (_gate) return _indices.ContainsKey(name) ? name : _aliases.GetValueOrDefault(name);
    }

    private async Task<IResult> CreateIndexAsync(string index, HttpRequest request)
    {
        if (!IndexName().IsMatch(index))
            return Error(400, "invalid_index_name_exception", $"Invalid index name [{index}], must be lowercase");
        var body = request.ContentLength > 0 ? JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync()) as JsonObject : new JsonObject();
        lock (_gate)
        {
            if (_indices.ContainsKey(index) || _aliases.ContainsKey(index))
                return Error(400, "resource_already_exists_exception", $"index [{index}/uuid] already exists");
            var state = new IndexState { Settings = body?["settings"]?.DeepClone() as JsonObject };
            if (body?["mappings"]?["properties"] is JsonObject properties)
            {
                foreach (var (field, definition) in properties) state.Mappings[field] = (string?)definition?["type"] ?? "object";
            }
            _indices[index] = state;
            if (body?["aliases"] is JsonObject aliases)
            {
                foreach (var (alias, _) in aliases) _aliases[alias] = index;
            }
        }
        return Results.Ok(new JsonObject { ["acknowledged"] = true, ["shards_acknowledged"] = true, ["index"] = index });
    }

    private async Task<IResult> BulkAsync(HttpRequest request)
    {
        var contentType = request.ContentType ?? "";
        if (!contentType.StartsWith("application/x-ndjson") && !contentType.StartsWith("application/json"))
            return Error(406, "content_type_not_supported", $"Content-Type header [{contentType}] is not supported");
        var text = await new StreamReader(request.Body, Encoding.UTF8).ReadToEndAsync();
        if (text.Length > 0 && !text.EndsWith('\n'))
            return Error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var items = new JsonArray();
        var errors = false;
        for (var i = 0; i < lines.Length; i++)
        {
            var action = JsonNode.Parse(lines[i])!.AsObject();
            var (kind, meta) = (action.First().Key, action.First().Value!.AsObject());
            foreach (var (key, _) in meta)
            {
                if (key is not ("_index" or "_id" or "version" or "version_type"))
                    return Error(400, "illegal_argument_exception", $"Action/metadata line [{i + 1}] contains an unknown parameter [{key}]");
            }
            if (kind is not ("index" or "delete")) return Error(400, "illegal_argument_exception", $"Malformed action/metadata line [{i + 1}], expected one of [create, delete, index, update] but found [{kind}]");
            var source = kind == "index" ? JsonNode.Parse(lines[++i])!.AsObject() : null;
            var item = Apply(kind, meta, source);
            errors |= item["error"] is not null;
            items.Add(new JsonObject { [kind] = item });
        }
        return Results.Ok(new JsonObject { ["took"] = 1, ["errors"] = errors, ["items"] = items });
    }

    private JsonObject Apply(string kind, JsonObject meta, JsonObject? source)
    {
        var name = (string)meta["_index"]!;
        var id = (string)meta["_id"]!;
        var version = (long?)meta["version"];
        lock (_gate)
        {
            if (RejectNextItems > 0)
            {
                RejectNextItems--;
                return ItemError(name, id, 429, "es_rejected_execution_exception", "rejected execution of coordinating operation");
            }
            var index = Resolve(name);
            if (index is null)
            {
                if (kind == "delete") return ItemError(name, id, 404, "index_not_found_exception", $"no such index [{name}]");
                _indices[name] = new IndexState();
                index = name;
            }
            var state = _indices[index];
            var held = state.Documents.TryGetValue(id, out var current) ? current.Version : (long?)null;
            if (version is { } external && (string?)meta["version_type"] == "external" && held is { } existing && external <= existing)
                return ItemError(index, id, 409, "version_conflict_engine_exception",
                    $"[{id}]: version conflict, current version [{existing}] is higher or equal to the one provided [{external}]");
            if (kind == "delete")
            {
                if (held is null || current.Source is null)
                {
                    if (version is { } v) state.Documents[id] = (v, null);
                    return new JsonObject { ["_index"] = index, ["_id"] = id, ["result"] = "not_found", ["status"] = 404 };
                }
                state.Documents[id] = (version ?? held.Value + 1, null);
                return new JsonObject { ["_index"] = index, ["_id"] = id, ["_version"] = version ?? held + 1, ["result"] = "deleted", ["status"] = 200 };
            }
            if (MappingConflict(state, source!) is { } conflict) return ItemError(index, id, 400, "document_parsing_exception", conflict);
            state.Documents[id] = (version ?? (held ?? 0) + 1, source);
            var created = held is null || current.Source is null;
            return new JsonObject
            {
                ["_index"] = index, ["_id"] = id, ["_version"] = version ?? (held ?? 0) + 1,
                ["result"] = created ? "created" : "updated", ["status"] = created ? 201 : 200,
            };
        }
    }

    /// <summary>Dynamic mapping: a field's type is fixed by its first value; a later value that does not fit is refused.</summary>
    private static string? MappingConflict(IndexState state, JsonObject source)
    {
        foreach (var (field, value) in source)
        {
            if (value is null) continue;
            var type = value switch
            {
                JsonObject => "object",
                JsonArray => "array",
                _ => value.GetValueKind() switch
                {
                    System.Text.Json.JsonValueKind.Number => "long",
                    System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False => "boolean",
                    _ => "text",
                },
            };
            if (!state.Mappings.TryGetValue(field, out var mapped))
            {
                state.Mappings[field] = type;
                continue;
            }
            var fits = mapped == type || (mapped == "long" && type == "text" && long.TryParse((string?)value, out _)) || (mapped == "text" && type is "long" or "boolean");
            if (!fits) return $"[1:2] failed to parse field [{field}] of type [{mapped}] in document. Preview of field's value: '{value.ToJsonString()}'";
        }
        return null;
    }

    private IResult Get(string index, string id)
    {
        lock (_gate)
        {
            var resolved = Resolve(index);
            if (resolved is null) return Error(404, "index_not_found_exception", $"no such index [{index}]");
            return _indices[resolved].Documents.TryGetValue(id, out var held) && held.Source is not null
                ? Results.Ok(new JsonObject { ["_index"] = resolved, ["_id"] = id, ["_version"] = held.Version, ["found"] = true, ["_source"] = held.Source.DeepClone() })
                : Results.Json(new JsonObject { ["_index"] = resolved, ["_id"] = id, ["found"] = false }, statusCode: 404);
        }
    }

    private async Task<IResult> SearchAsync(string index, HttpRequest request)
    {
        var body = JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync())!.AsObject();
        var size = (int?)body["size"] ?? 10;
        Func<JsonObject, bool> matches;
        var query = body["query"]?.AsObject();
        switch (query?.First().Key)
        {
            case null or "match_all":
                matches = _ => true;
                break;
            case "match":
                var (field, value) = query["match"]!.AsObject().First();
                var wanted = Words(value is JsonObject m ? (string?)m["query"] : (string?)value);
                matches = source => Words((string?)source[field]?.ToString()).Intersect(wanted).Any();
                break;
            case "query_string":
                var text = (string?)query["query_string"]!["query"] ?? "";
                if (text.Count(c => c == '(') != text.Count(c => c == ')') || text.Count(c => c == '"') % 2 == 1)
                    return Error(400, "search_phase_execution_exception", "all shards failed", rootCause: ("query_shard_exception", $"Failed to parse query [{text}]"));
                var terms = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(t => t is not ("OR" or "AND")).ToList();
                matches = source => terms.Any(term => term.Split(':', 2) is [var f, var v]
                    ? Words(source[f]?.ToString()).Contains(v.ToLowerInvariant())
                    : source.Any(p => Words(p.Value?.ToString()).Contains(term.ToLowerInvariant())));
                break;
            default:
                return Error(400, "parsing_exception", $"unknown query [{query.First().Key}]");
        }
        lock (_gate)
        {
            var resolved = Resolve(index);
            if (resolved is null) return Error(404, "index_not_found_exception", $"no such index [{index}]");
            var found = _indices[resolved].Documents.Where(d => d.Value.Source is not null && matches(d.Value.Source)).ToList();
            var hits = new JsonArray(found.Take(size).Select(d => (JsonNode)new JsonObject
            {
                ["_index"] = resolved, ["_id"] = d.Key, ["_score"] = 1.0, ["_source"] = d.Value.Source!.DeepClone(),
            }).ToArray());
            return Results.Ok(new JsonObject
            {
                ["took"] = 1,
                ["timed_out"] = false,
                ["hits"] = new JsonObject { ["total"] = new JsonObject { ["value"] = found.Count, ["relation"] = "eq" }, ["max_score"] = found.Count > 0 ? 1.0 : null, ["hits"] = hits },
            });
        }
    }

    private async Task<IResult> UpdateAliasesAsync(HttpRequest request)
    {
        var actions = JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync())!["actions"]!.AsArray();
        lock (_gate)
        {
            // All actions apply together or none does, as in Elasticsearch.
            var next = new Dictionary<string, string>(_aliases, StringComparer.Ordinal);
            foreach (var action in actions)
            {
                var (kind, spec) = (action!.AsObject().First().Key, action.AsObject().First().Value!.AsObject());
                var index = (string)spec["index"]!;
                var alias = (string)spec["alias"]!;
                if (!_indices.ContainsKey(index)) return Error(404, "index_not_found_exception", $"no such index [{index}]");
                if (kind == "add") next[alias] = index;
                else if (kind == "remove" && !next.Remove(alias)) return Error(404, "aliases_not_found_exception", $"aliases [{alias}] missing");
            }
            _aliases.Clear();
            foreach (var (alias, index) in next) _aliases[alias] = index;
        }
        return Results.Ok(new JsonObject { ["acknowledged"] = true });
    }

    private IResult GetAlias(string alias)
    {
        lock (_gate)
        {
            return _aliases.TryGetValue(alias, out var index)
                ? Results.Ok(new JsonObject { [index] = new JsonObject { ["aliases"] = new JsonObject { [alias] = new JsonObject() } } })
                : Results.Json(new JsonObject { ["error"] = $"alias [{alias}] missing", ["status"] = 404 }, statusCode: 404);
        }
    }

    private IResult DeleteIndex(string index)
    {
        lock (_gate)
        {
            if (!_indices.Remove(index)) return Error(404, "index_not_found_exception", $"no such index [{index}]");
            foreach (var alias in _aliases.Where(a => a.Value == index).Select(a => a.Key).ToList()) _aliases.Remove(alias);
        }
        return Results.Ok(new JsonObject { ["acknowledged"] = true });
    }

    private static HashSet<string> Words(string? text) =>
        Word().Matches(text ?? "").Select(m => m.Value.ToLowerInvariant()).ToHashSet();

    private static JsonObject ItemError(string index, string id, int status, string type, string reason) => new()
    {
        ["_index"] = index, ["_id"] = id, ["status"] = status,
        ["error"] = new JsonObject { ["type"] = type, ["reason"] = reason, ["index"] = index },
    };

    private static IResult Error(int status, string type, string reason, (string Type, string Reason)? rootCause = null)
    {
        var cause = rootCause ?? (type, reason);
        return Results.Json(new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["root_cause"] = new JsonArray(new JsonObject { ["type"] = cause.Type, ["reason"] = cause.Reason }),
                ["type"] = type,
                ["reason"] = reason,
            },
            ["status"] = status,
        }, statusCode: status);
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_.-]*$")]
    private static partial Regex IndexName();

    [GeneratedRegex(@"\w+")]
    private static partial Regex Word();
}

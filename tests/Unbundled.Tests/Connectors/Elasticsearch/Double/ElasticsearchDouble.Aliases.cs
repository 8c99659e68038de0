using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>The indices one alias points at, and which of them takes writes when it points at several.</summary>
internal sealed class AliasTargets
{
    public List<string> Indices { get; } = [];

    public string? WriteIndex { get; set; }
}

/// <summary>
/// Aliases as the Aliases reference describes them: one alias over several indices (reads reach all,
/// writes need a write index), <c>_aliases</c> actions <c>add</c>, <c>remove</c> and <c>remove_index</c>
/// applied all together or not at all, and an alias never named like an index nor the reverse.
/// </summary>
public sealed partial class ElasticsearchDouble
{
    private JsonObject UpdateAliases(JsonObject? body)
    {
        var actions = body?["actions"] as JsonArray ?? throw new EsError(400, "action_request_validation_exception", "Validation Failed: 1: no actions specified;");
        lock (_gate)
        {
            // All actions apply together or none does: work on copies, then swap them in.
            var aliases = _aliases.ToDictionary(a => a.Key, a => Copy(a.Value), StringComparer.Ordinal);
            var removedIndices = new HashSet<string>(StringComparer.Ordinal);
            foreach (var action in actions.Select(a => a!.AsObject()))
            {
                var (kind, spec) = (action.First().Key, action.First().Value!.AsObject());
                var indices = Names(spec, "index", "indices");
                var names = kind == "remove_index" ? [] : Names(spec, "alias", "aliases");
                foreach (var index in indices)
                {
                    if (aliases.ContainsKey(index) && !_indices.ContainsKey(index))
                        throw EsError.BadRequest($"The provided expression [{index}] matches an alias, specify the corresponding concrete indices instead.");
                    if (!_indices.ContainsKey(index) || removedIndices.Contains(index)) throw EsError.IndexNotFound(index);
                }
                switch (kind)
                {
                    case "add":
                        foreach (var alias in names)
                        {
                            if (_indices.ContainsKey(alias))
                                throw new EsError(400, "invalid_alias_name_exception", $"Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias");
                            var targets = aliases.TryGetValue(alias, out var held) ? held : aliases[alias] = new AliasTargets();
                            foreach (var index in indices.Where(i => !targets.Indices.Contains(i))) targets.Indices.Add(index);
                            if ((bool?)spec["is_write_index"] == true) targets.WriteIndex = indices[^1];
                        }
                        break;
                    case "remove":
                        foreach (var alias in names)
                        {
                            if (!aliases.TryGetValue(alias, out var targets) || !indices.Any(targets.Indices.Contains))
                                throw new EsError(404, "aliases_not_found_exception", $"aliases [{alias}] missing");
                            Detach(aliases, alias, indices);
                        }
                        break;
                    case "remove_index":
                        foreach (var index in indices)
                        {
                            removedIndices.Add(index);
                            foreach (var alias in aliases.Keys.ToList()) Detach(aliases, alias, [index]);
                        }
                        break;
                    default:
                        throw new EsError(400, "parsing_exception", $"[aliases] unknown field [{kind}]");
                }
            }
            foreach (var index in removedIndices) _indices.Remove(index);
            _aliases.Clear();
            foreach (var (alias, targets) in aliases) _aliases[alias] = targets;
        }
        return new JsonObject { ["acknowledged"] = true, ["errors"] = false };
    }

    private IResult GetAlias(string alias)
    {
        lock (_gate)
        {
            if (!_aliases.TryGetValue(alias, out var targets))
                return Results.Json(new JsonObject { ["error"] = $"alias [{alias}] missing", ["status"] = 404 }, statusCode: 404);
            var answer = new JsonObject();
            foreach (var index in targets.Indices)
            {
                var spec = targets.WriteIndex is null || targets.Indices.Count == 1 ? new JsonObject() : new JsonObject { ["is_write_index"] = targets.WriteIndex == index };
                answer[index] = new JsonObject { ["aliases"] = new JsonObject { [alias] = spec } };
            }
            return Results.Ok(answer);
        }
    }

    private void AddAlias(string alias, string index, bool? isWriteIndex)
    {
        var targets = _aliases.TryGetValue(alias, out var held) ? held : _aliases[alias] = new AliasTargets();
        targets.Indices.Add(index);
        if (isWriteIndex == true) targets.WriteIndex = index;
    }

    private void RemoveFromAliases(string index)
    {
        foreach (var alias in _aliases.Keys.ToList()) Detach(_aliases, alias, [index]);
    }

    private static void Detach(Dictionary<string, AliasTargets> aliases, string alias, IReadOnlyCollection<string> indices)
    {
        var targets = aliases[alias];
        targets.Indices.RemoveAll(indices.Contains);
        if (targets.WriteIndex is { } write && indices.Contains(write)) targets.WriteIndex = null;
        if (targets.Indices.Count == 0) aliases.Remove(alias);
    }

    private static AliasTargets Copy(AliasTargets targets)
    {
        var copy = new AliasTargets { WriteIndex = targets.WriteIndex };
        copy.Indices.AddRange(targets.Indices);
        return copy;
    }

    private static List<string> Names(JsonObject spec, string one, string many) =>
        spec[one] is { } single ? [single.ToString()]
        : spec[many] is JsonArray list ? list.Select(n => n!.ToString()).ToList()
        : throw new EsError(400, "action_request_validation_exception", $"Validation Failed: 1: One of [{one}] or [{many}] is required;");
}

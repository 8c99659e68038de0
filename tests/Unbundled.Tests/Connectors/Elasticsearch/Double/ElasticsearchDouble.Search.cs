using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// _search as the Search API reference describes it: over every index an alias reaches, only what a
/// refresh exposed, refused when <c>from + size</c> passes index.max_result_window, and with totals
/// counted up to track_total_hits (10,000 by default) and then reported as a lower bound (<c>gte</c>).
/// </summary>
public sealed partial class ElasticsearchDouble
{
    private static readonly HashSet<string> SearchKeys = ["query", "size", "from", "track_total_hits", "_source", "sort", "timeout"];

    private JsonObject Search(string name, JsonObject? body)
    {
        body ??= [];
        foreach (var (key, _) in body)
        {
            if (!SearchKeys.Contains(key)) throw new EsError(400, "parsing_exception", $"Unknown key for a START_OBJECT in [{key}].");
        }
        if (body["sort"] is not null) throw new NotSupportedException("sort");
        var size = (int?)body["size"] ?? 10;
        var from = (int?)body["from"] ?? 0;
        if (size < 0 || from < 0) throw EsError.BadRequest($"[{(size < 0 ? "size" : "from")}] parameter cannot be negative");
        var track = body["track_total_hits"] switch
        {
            null => 10_000,
            JsonValue v when v.TryGetValue<bool>(out var all) => all ? int.MaxValue : 0,
            JsonValue v => (int)v,
            _ => throw EsError.BadRequest("[track_total_hits] must be a boolean or an integer"),
        };
        lock (_gate)
        {
            var indices = Resolve(name);
            foreach (var index in indices)
            {
                if (from + size > index.Settings.MaxResultWindow)
                    throw new EsError(400, "search_phase_execution_exception", "all shards failed", ("illegal_argument_exception",
                        $"Result window is too large, from + size must be less than or equal to: [{index.Settings.MaxResultWindow}] but was [{from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."));
            }
            var found = new List<(string Index, string Id, double Score, JsonObject Source)>();
            foreach (var index in indices)
            {
                var matcher = SearchQuery.Compile(body["query"] as JsonObject, index.Mapping);
                foreach (var (id, document) in index.Searchable(Now))
                {
                    if (matcher(document.Source!) is { } score) found.Add((index.Name, id, score, document.Source!));
                }
            }
            var ranked = found.OrderByDescending(f => f.Score).ToList();
            var hits = new JsonArray(ranked.Skip(from).Take(size).Select(f => (JsonNode)new JsonObject
            {
                ["_index"] = f.Index, ["_id"] = f.Id, ["_score"] = f.Score, ["_source"] = f.Source.DeepClone(),
            }).ToArray());
            var total = new JsonObject
            {
                ["value"] = Math.Min(found.Count, track),
                ["relation"] = found.Count > track ? "gte" : "eq",
            };
            return new JsonObject
            {
                ["took"] = 1,
                ["timed_out"] = false,
                ["_shards"] = new JsonObject { ["total"] = indices.Count, ["successful"] = indices.Count, ["skipped"] = 0, ["failed"] = 0 },
                ["hits"] = new JsonObject { ["total"] = total, ["max_score"] = ranked.Count > 0 ? ranked[0].Score : null, ["hits"] = hits },
            };
        }
    }
}

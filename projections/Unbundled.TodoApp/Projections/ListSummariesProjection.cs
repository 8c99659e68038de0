using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.TodoApp.Projections;

/// <summary>
/// One small document per todo list, keyed by the list's id: its title and how many todos it has and
/// how many are done. The demo page's list of lists reads it from a search view and follows it on a
/// feed; a deleted list is deleted.
/// </summary>
public sealed class ListSummariesProjection : IProjection
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ProjectionName = "list-summaries";

    /// <inheritdoc />
    public string Name => ProjectionName;

    /// <inheritdoc />
    public IEnumerable<SinkDocument> Project(ChangeEvent change)
    {
        var (version, position) = (change.Source.Version, change.Source.Position);
        if (change.After is not JsonObject list)
        {
            yield return SinkDocument.Delete(change.Key, version, position, null);
            yield break;
        }
        var todos = list["todos"] as JsonArray ?? [];
        yield return SinkDocument.Upsert(change.Key, version, position, new JsonObject
        {
            ["id"] = change.Key,
            ["title"] = list["title"]?.DeepClone(),
            ["todos"] = todos.Count,
            ["done"] = todos.Count(t => t?["done"] is JsonValue done && done.TryGetValue<bool>(out var value) && value),
            ["updatedMs"] = change.Source.TsMs,
        });
    }
}

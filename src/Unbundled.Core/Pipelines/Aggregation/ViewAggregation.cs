using System.Text.Json.Nodes;
using Unbundled.Pipelines.Offsets;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// Turns a batch's member documents into the documents of the groups they changed, through the aggregate
/// store, for one aggregating pipeline. Each group's document goes out at the group's revision, so sinks stay
/// version-guarded; groups the store has not seen written (a crash between the store and the sink) go out again.
/// </summary>
/// <param name="aggregator">The pipeline's aggregation.</param>
/// <param name="store">Where members and groups are kept.</param>
/// <param name="pipeline">The pipeline.</param>
/// <param name="instance">For a sink every instance writes (a push feed), this instance's name: each keeps the state of its own groups.</param>
internal sealed class ViewAggregation(Aggregator aggregator, IAggregateStore store, string pipeline, string? instance = null)
{
    /// <summary>The groups <paramref name="members"/> leave to write, as the documents the sink takes, up to offset <paramref name="reached"/>.</summary>
    public async Task<(List<SinkDocument> Documents, IReadOnlyList<GroupWrite> Groups)> ApplyAsync(ViewTarget target, IReadOnlyList<SinkDocument> members,
        IReadOnlyDictionary<long, ChangeEvent> origins, long reached, CancellationToken cancellationToken)
    {
        var changes = members.Select(m => aggregator.Contribute(m, origins[m.Position])).ToList();
        var groups = await store.ApplyAsync(ViewOf(target), changes, aggregator.Compute, cancellationToken).ConfigureAwait(false);
        var documents = groups.Select(g => g.Document is { } document
            ? SinkDocument.Upsert(g.Group, g.Revision, reached, document)
            // A sink's key template renders from the document, deletes too: an emptied group still names itself.
            : SinkDocument.Delete(g.Group, g.Revision, reached, new JsonObject { ["group"] = g.Group })).ToList();
        return (documents, groups);
    }

    /// <summary>Notes that the view holds <paramref name="groups"/>.</summary>
    public Task WrittenAsync(ViewTarget target, IReadOnlyList<GroupWrite> groups, CancellationToken cancellationToken) =>
        store.WrittenAsync(ViewOf(target), groups, cancellationToken);

    /// <summary>Hands <paramref name="groups"/> (null: all) out again with the next batch.</summary>
    public Task<int> ResendAsync(ViewTarget target, IReadOnlyList<string>? groups, CancellationToken cancellationToken) =>
        store.ResendAsync(ViewOf(target), groups, cancellationToken);

    /// <summary>Forgets a retired generation's members and groups.</summary>
    public Task DropAsync(ViewTarget retired, CancellationToken cancellationToken) => store.DropAsync(ViewOf(retired), cancellationToken);

    private string ViewOf(ViewTarget target) => ViewOffset.NameOf(pipeline, target.Generation) + (instance is null ? "" : $"@{instance}");
}

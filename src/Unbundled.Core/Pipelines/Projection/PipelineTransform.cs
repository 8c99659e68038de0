using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Projection;

/// <summary>
/// What a pipeline makes of one change event: whether the filter admits it, and the documents its
/// projection derives. The worker applies it to write the view; a replay applies it again (a push
/// feed's catch-up) without touching the view.
/// </summary>
public sealed partial class PipelineTransform(PipelineDefinition definition, IProjection projection)
{
    /// <summary>The pipeline this transform belongs to.</summary>
    public PipelineDefinition Definition { get; } = definition;

    /// <summary>
    /// The filter decides which models belong to the view. A model that matched before the change and
    /// no longer does must leave the view, so the change is projected as its deletion; null when the
    /// change does not concern the view.
    /// </summary>
    public ChangeEvent? Admit(ChangeEvent change)
    {
        // The writer turns a truncate into a rebuild; replayed from the dead-letter store, it derives nothing and stays there.
        if (change.Op == ChangeOp.Truncate) throw new InvalidOperationException("a TRUNCATE derives no document: rebuild the view (unbundled rebuild) to drop the table's rows");
        if (Definition.Where is not { } where || where.Evaluate(change)) return change;
        // An update whose earlier state is unknown (PostgreSQL under REPLICA IDENTITY DEFAULT) may have been in
        // the view: it is deleted, which is harmless when it was not, rather than left there stale.
        var matchedBefore = change.Before is null
            ? change.Op == ChangeOp.Update
            : where.Evaluate(change with { After = change.Before });
        return matchedBefore ? change with { Op = ChangeOp.Delete, After = null } : null;
    }

    /// <summary>
    /// The documents an admitted change writes or deletes: those the projection derives from the state
    /// after it that differ from what it derived from the state before (when that state was in the
    /// view), and deletes for documents that disappeared. Unless the projection opts out, ticking one
    /// todo of a thousand writes one document, not a thousand; when the projection derives per item
    /// (<c>ItemsField</c>), it also projects that one todo rather than the thousand, twice. Without <paramref name="changesOnly"/>
    /// (a feed, whose subscribers learn from each message that the model changed), everything projected.
    /// </summary>
    public IReadOnlyList<SinkDocument> Project(ChangeEvent admitted, bool changesOnly = true)
    {
        if (!changesOnly || !projection.WritesOnlyChanges || !InView(admitted)) return projection.Project(admitted).ToList();
        // A change below one item of a projection that derives per item needs only that item, before and after:
        // the whole model's states are not even read, so the source never copies them.
        var scoped = ItemsField is { } field && admitted is { Op: ChangeOp.Update, Item: { } item } && item.Field == field
            ? admitted with { Before = item.Before, After = item.After }
            : admitted;
        var after = projection.Project(scoped).ToList();
        if (scoped.Before is not { } before) return after;

        var previous = new Dictionary<string, SinkDocument>(StringComparer.Ordinal);
        try
        {
            foreach (var document in projection.Project(scoped with { Op = ChangeOp.Read, Before = null, After = before }))
            {
                if (!document.IsDelete) previous[document.Key] = document;
            }
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // The state before could not be projected (it is in the dead-letter store): the view holds
            // nothing of it to compare with, and the change must not fail for it. Everything is written.
            return ReferenceEquals(scoped, admitted) ? after : projection.Project(admitted).ToList();
        }
        var changed = new List<SinkDocument>(after.Count);
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var document in after)
        {
            kept.Add(document.Key);
            if (!document.IsDelete && previous.TryGetValue(document.Key, out var was) && JsonNode.DeepEquals(was.Document, document.Document)) continue;
            changed.Add(document);
        }
        foreach (var (key, was) in previous)
        {
            if (!kept.Contains(key)) changed.Add(SinkDocument.Delete(key, admitted.Source.Version, admitted.Source.Position, was.Document));
        }
        return changed;
    }

    /// <summary>The array whose items the projection derives from one by one (<see cref="IProjection.ItemsField"/>), if any.</summary>
    public string? ItemsField => projection.WritesOnlyChanges ? projection.ItemsField : null;

    /// <summary>
    /// Whether writing into <paramref name="sink"/> reads, of a change below one item, only that item: the projection
    /// derives per item, no filter reads the model, and the sink takes changed documents rather than every one or the
    /// changes themselves. The source may then copy a model's states only when they are read.
    /// </summary>
    public bool ReadsOnlyChangedItems(ISinkConnector sink) =>
        ItemsField is not null && Definition.Where is null && !DerivesEveryDocument(sink) && (Definition.Aggregate is not null || !sink.WantsChanges);

    /// <summary>
    /// Whether every change derives every document of its model, not only those it changed: for a sink that passes each
    /// on (a feed) or wants them all (one with a TTL). Not for an aggregating view, whose sink takes groups: a member that
    /// did not change gives what it gave before. (The people feed upserted all ten todos of a list at each tick.)
    /// </summary>
    public bool DerivesEveryDocument(ISinkConnector sink) =>
        Definition.Aggregate is null && (sink is IPassThroughSink || sink.WantsEveryDocument);

    /// <summary>
    /// Whether the state before the change was in the view: a model the filter only now admits had no
    /// documents to compare with. A filter that reads more than the model's state (<c>op</c>, <c>source.*</c>,
    /// <c>ts_ms</c>, <c>before.*</c>) cannot judge the previous event from this one, so nothing is assumed.
    /// </summary>
    private bool InView(ChangeEvent admitted) =>
        Definition.Where is not { } where || (!ReadsEventMetadata().IsMatch(where.Text) && where.Evaluate(admitted with { After = admitted.Before }));

    // Over the filter's text, literals included: a literal that happens to read like such a path only costs the comparison.
    [GeneratedRegex(@"\b(op|ts_ms|source|before)\b")]
    private static partial Regex ReadsEventMetadata();
}

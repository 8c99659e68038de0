using System.Diagnostics;
using System.Text.Json;
using Polly;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.Joins;
using Unbundled.Pipelines.Projection;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;
using Unbundled.Tracing;

namespace Unbundled.Pipelines.Views;

/// <summary>
/// Applies one source batch to one generation of a view: filters and projects each change, writes the
/// documents to the sink (retrying with backoff while it fails), stores what could not be derived or
/// was refused in the dead-letter store, and only then moves the generation's offset.
/// </summary>
internal sealed class ViewWriter(PipelineTransform transform, DeadLetterWriter deadLetters, ResiliencePipeline sinkRetry, TimeProvider clock, Action<ChangeEvent>? truncated = null,
    ViewAggregation? aggregation = null, ViewJoin? join = null)
{
    /// <summary>At most this many changes are linked from one batch write's span.</summary>
    private const int MaxLinks = 128;

    private string Pipeline => transform.Definition.Name;

    /// <summary>
    /// Several writes of one key in a batch reach the sink as the one a version-guarded sink would end
    /// with: the highest version, the first of equal ones. The view ends the same for a fraction of the
    /// writes. A pass-through sink (a feed) gets every write: its subscribers may show each change.
    /// </summary>
    private static List<SinkDocument> Newest(List<SinkDocument> documents)
    {
        if (documents.Count < 2) return documents;
        var winner = new Dictionary<string, int>(documents.Count, StringComparer.Ordinal);
        for (var i = 0; i < documents.Count; i++)
        {
            if (!winner.TryGetValue(documents[i].Key, out var held) || documents[i].Version > documents[held].Version) winner[documents[i].Key] = i;
        }
        if (winner.Count == documents.Count) return documents;
        var newest = new List<SinkDocument>(winner.Count);
        for (var i = 0; i < documents.Count; i++)
        {
            if (winner[documents[i].Key] == i) newest.Add(documents[i]);
        }
        return newest;
    }

    /// <summary>
    /// Stores dead letters, retried like a sink's write: a store that is full under <c>when-full: stop</c>, or out of
    /// reach, holds the pipeline at this batch with the reason in its status until there is room. Unretried, it
    /// faulted the pipeline until the process restarted.
    /// </summary>
    private async Task StoreLettersAsync(IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken)
    {
        if (letters.Count == 0) return;
        await sinkRetry.ExecuteAsync(async token => await deadLetters.StoreAsync(letters, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The view's store lost its data: an aggregating view hands out every group again, since replayed members change nothing.</summary>
    public async Task ResendAllAsync(ViewTarget target, CancellationToken cancellationToken)
    {
        if (aggregation is not null) await aggregation.ResendAsync(target, null, cancellationToken).ConfigureAwait(false);
        if (join is not null) await join.ResendAsync(target, null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets what a retired generation kept beside its sink (an aggregating view's members and groups).</summary>
    public async Task ForgetAsync(ViewTarget retired, CancellationToken cancellationToken)
    {
        if (aggregation is not null) await aggregation.DropAsync(retired, cancellationToken).ConfigureAwait(false);
        if (join is not null) await join.DropAsync(retired, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <paramref name="batch"/> to <paramref name="target"/>. With <paramref name="stopAtPoison"/>, a record that
    /// cannot be derived ends the batch just before it and the answer is true: the offset stays short of it.
    /// </summary>
    public Task<bool> WriteAsync(ViewTarget target, SourceBatch batch, bool stopAtPoison, CancellationToken cancellationToken) =>
        CommitAsync(target, Derive(target, batch, target.Offset.Value, stopAtPoison), cancellationToken);

    /// <summary>
    /// Filters and projects the records of <paramref name="batch"/>, which follows offset <paramref name="from"/>, without
    /// writing anything: the worker derives a backlog's next batch while the sink writes this one.
    /// </summary>
    public DerivedBatch Derive(ViewTarget target, SourceBatch batch, long from, bool stopAtPoison)
    {
        var documents = new List<SinkDocument>();
        var derivedFrom = new Dictionary<long, ChangeEvent>();
        var letters = new List<DeadLetter>();
        var reached = batch.Offset;
        var previous = from;
        var poisoned = false;
        var unavailable = false;
        // A feed or a TTL'd cache takes every document of a changed model; other sinks, and an aggregate's members, only those that changed.
        var changesOnly = !transform.DerivesEveryDocument(target.Sink);
        var traced = new List<ActivityLink>();
        var truncates = new List<ChangeEvent>();
        var rows = new List<JoinedRow>();
        foreach (var record in batch.Records)
        {
            var (raw, reason) = (record.Raw, record.Reason);
            if (record.Change is { Op: ChangeOp.Truncate } truncate)
            {
                // A whole table emptied at once: no sink can drop one table's share of a view in place, but a
                // rebuild reads the source again beside it. A view that cannot be rebuilt keeps the event as a dead letter.
                if (target.Sink is IGenerationalSink && target.Source.RebuildsFromCurrentState && truncated is not null)
                {
                    // Acted on when the batch commits: a batch derived ahead may be thrown away and derived again.
                    truncates.Add(truncate);
                    previous = record.Offset;
                    continue;
                }
                (raw, reason) = (DeadLetterEvent.Serialize(truncate), target.Source.RebuildsFromCurrentState
                    ? $"TRUNCATE of {truncate.Source.Schema}.{truncate.Source.Table}: this view's sink cannot be rebuilt beside itself, so it keeps the rows it had"
                    // A topic's rebuild would read the rows from before the truncate, and the truncate, again: rebuilding forever.
                    : $"TRUNCATE of {truncate.Source.Schema}.{truncate.Source.Table}: this source replays its history, where a rebuild would read the rows from before it again, so the view keeps the rows it had");
            }
            else if (record.Change is { } row && join is not null && join.IsRow(row))
            {
                // A row of the joined table is kept by the engine, not derived: the documents that embed it are written again at commit.
                rows.Add(ViewJoin.Row(row));
                previous = record.Offset;
                continue;
            }
            else if (record.Change is { } change)
            {
                // The derivation is a span of the trace of the write that made the change.
                // Nothing is parsed or started while nobody listens: an untraced server pays nothing per event.
                using var derive = UnbundledTracing.Source.HasListeners() && UnbundledTracing.ContextOf(change.TraceParent) is { } written
                    ? UnbundledTracing.Source.StartActivity($"derive {Pipeline}", ActivityKind.Consumer, written)
                    : null;
                if (derive is not null && traced.Count < MaxLinks) traced.Add(new ActivityLink(derive.Context));
                derive?.SetTag("unbundled.pipeline", Pipeline).SetTag("unbundled.offset", record.Offset);
                try
                {
                    if (transform.Admit(change) is { } admitted)
                    {
                        var projected = transform.Project(admitted, changesOnly);
                        if (target.Sink.WantsChanges) documents.AddRange(projected.Select(d => d with { Change = admitted }));
                        else documents.AddRange(projected);
                        derivedFrom[record.Offset] = admitted;
                        unavailable |= admitted.HasUnavailableValues;
                    }
                    previous = record.Offset;
                    continue;
                }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    (raw, reason) = (DeadLetterEvent.Serialize(change), $"{error.GetType().Name}: {error.Message}");
                }
            }
            letters.Add(new DeadLetter(0, Pipeline, record.Offset, record.Key, raw ?? "", reason ?? "the source could not read this record", clock.GetUtcNow()));
            if (stopAtPoison)
            {
                (reached, poisoned) = (previous, true);
                break;
            }
            previous = record.Offset;
        }

        return new DerivedBatch(batch, documents, derivedFrom, letters, traced, reached, poisoned, unavailable) { Truncates = truncates, Rows = rows };
    }

    /// <summary>
    /// Stores a derived batch's dead letters, writes its documents to the sink and then moves the offset;
    /// the answer is whether the batch ended at a poison record.
    /// </summary>
    public async Task<bool> CommitAsync(ViewTarget target, DerivedBatch derived, CancellationToken cancellationToken)
    {
        var (documents, reached) = (derived.Documents, derived.Reached);
        foreach (var truncate in derived.Truncates) truncated!(truncate);
        SinkBatchResult result;
        // Dead letters are stored before the offset moves past them, so none is lost in a crash.
        await StoreLettersAsync(derived.Letters, cancellationToken).ConfigureAwait(false);
        if (reached <= target.Offset.Value && documents.Count == 0) return derived.Poisoned;

        // An aggregating view's sink holds groups, not the members a placeholder would be filled from.
        if (derived.Unavailable && aggregation is null) await UnavailableValues.FillAsync(documents, target.Sink, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<GroupWrite> groups = [];
        // An aggregating view's sink takes the documents of the groups its members changed, not the members.
        if (aggregation is not null) (documents, groups) = await aggregation.ApplyAsync(target, Newest(documents), derived.From, reached, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<JoinedWrite> joined = [];
        // A joining view's sink takes each document with its row, and again every document whose row changed.
        if (join is not null) (documents, joined) = await join.ApplyAsync(target, Newest(documents), derived.Rows, derived.From, reached, cancellationToken).ConfigureAwait(false);
        // A source that keeps its own position (a consumer group) numbers records per reader: the view's store cannot vouch for that number.
        var write = new SinkBatch(Pipeline, target.Sink is IPassThroughSink ? documents : Newest(documents), reached) { BasedOn = target.Source.KeepsPosition ? -1 : target.Offset.Value, Fence = target.Fence };
        // One write serves many changes: it is linked to each one's derivation rather than parented by one of them.
        using (var writing = derived.Traced.Count > 0 ? UnbundledTracing.Source.StartActivity($"write {Pipeline}", ActivityKind.Client, default(ActivityContext), links: derived.Traced) : null)
        {
            writing?.SetTag("unbundled.pipeline", Pipeline).SetTag("unbundled.sink", transform.Definition.Sink.Name)
                .SetTag("unbundled.documents", write.Documents.Count).SetTag("unbundled.offset", reached);
            result = await sinkRetry.ExecuteAsync(async token => await target.Sink.WriteAsync(write, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        // A refused document is stored with the event it came from, and why the sink refused it. A group's or a joined
        // document comes from no one event (it carries the batch's offset, whose event is another change's): it is
        // stored marked as refused, and a replay sends it again from the view's store.
        await StoreLettersAsync(result.Rejected.Select(r => new DeadLetter(0, Pipeline, r.Document.Position, r.Document.Key,
            aggregation is not null || join is not null ? DeadLetterEvent.SerializeRefused(r.Document.Document)
            : derived.From.TryGetValue(r.Document.Position, out var source) ? DeadLetterEvent.Serialize(source) : JsonSerializer.Serialize(r.Document.Document),
            r.Reason, clock.GetUtcNow())).ToList(), cancellationToken).ConfigureAwait(false);
        await target.Offset.AdvanceAsync(reached, cancellationToken).ConfigureAwait(false);
        if (aggregation is not null) await aggregation.WrittenAsync(target, groups, cancellationToken).ConfigureAwait(false);
        if (join is not null) await join.WrittenAsync(target, joined, cancellationToken).ConfigureAwait(false);
        return derived.Poisoned;
    }
}

/// <summary>What one source batch derived: the documents for the sink, the letters for the dead-letter store, and the offset it reaches.</summary>
internal sealed record DerivedBatch(SourceBatch Batch, List<SinkDocument> Documents, Dictionary<long, ChangeEvent> From, List<DeadLetter> Letters,
    List<ActivityLink> Traced, long Reached, bool Poisoned, bool Unavailable)
{
    /// <summary>The TRUNCATE events met, each of which asks for a rebuild once the batch commits.</summary>
    public IReadOnlyList<ChangeEvent> Truncates { get; init; } = [];

    /// <summary>For a joining view, the rows of the joined table met.</summary>
    public IReadOnlyList<JoinedRow> Rows { get; init; } = [];
}

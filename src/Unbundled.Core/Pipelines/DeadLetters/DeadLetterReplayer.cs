using System.Text.Json;
using Polly;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.Projection;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.DeadLetters;

/// <summary>
/// Replays dead letters through the pipeline's current filter and projection into its live view. The
/// event is the one the pipeline met (stored with the letter), or, for a record the source could not read,
/// the source's record at that offset read again; a group's or joined document a sink refused is sent again
/// from the view's store, by its key. Writes are version-guarded like any other, so a letter older than the
/// view's state changes nothing; one that fails again stays, with its new reason.
/// </summary>
internal sealed class DeadLetterReplayer(PipelineTransform transform, IPipelineStateStore state, ResiliencePipeline sinkRetry, TimeProvider clock,
    ViewAggregation? aggregation = null, Joins.ViewJoin? join = null)
{
    private const int PageSize = 100;

    private string Pipeline => transform.Definition.Name;

    /// <summary>Replays the selected letters into <paramref name="live"/>, whose offset it leaves where it is.</summary>
    public async Task<IReadOnlyList<DeadLetterReplayed>> ReplayAsync(ViewTarget live, DeadLetterSelection selection, CancellationToken cancellationToken)
    {
        var outcomes = new List<DeadLetterReplayed>();
        await foreach (var letter in SelectAsync(selection, cancellationToken).ConfigureAwait(false))
        {
            var reason = await ReplayOneAsync(live, letter, cancellationToken).ConfigureAwait(false);
            if (reason is null) await state.RemoveDeadLetterAsync(Pipeline, letter.Id, cancellationToken).ConfigureAwait(false);
            else await state.ReasonDeadLetterAsync(Pipeline, letter.Id, reason, clock.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            outcomes.Add(new DeadLetterReplayed(letter.Id, reason is null, reason));
        }
        return outcomes;
    }

    /// <summary>Null when the letter's documents reached the view, else why not.</summary>
    private async Task<string?> ReplayOneAsync(ViewTarget live, DeadLetter letter, CancellationToken cancellationToken)
    {
        IReadOnlyList<SinkDocument> documents = [];
        IReadOnlyList<Joins.JoinedRow> rows = [];
        ChangeEvent? admitted = null;
        // A group's or joined document the sink refused holds no event: its offset is its batch's, whose record is another change.
        var refused = DeadLetterEvent.HoldsRefused(letter.Event);
        if (!refused)
        {
            try
            {
                var change = Stored(letter) ?? await ReadAgainAsync(live, letter, cancellationToken).ConfigureAwait(false);
                if (change is null) return $"the source no longer has offset {letter.Position}, and the letter holds no change event to replay";
                // A row of the joined table is kept, not projected, as in a live batch.
                if (join is not null && join.IsRow(change)) rows = [Joins.ViewJoin.Row(change)];
                // Everything the change projects is written: its documents never reached the view to be compared with.
                else if ((admitted = transform.Admit(change)) is not null) documents = transform.Project(admitted, changesOnly: false);
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                return $"{error.GetType().Name}: {error.Message}";
            }
        }
        // The view's store sends the letter's key again; letters from before refused documents were marked may hold one too.
        var resent = aggregation is not null ? await aggregation.ResendAsync(live, [letter.Key], cancellationToken).ConfigureAwait(false)
            : join is not null ? await join.ResendAsync(live, [letter.Key], cancellationToken).ConfigureAwait(false)
            : 0;
        if (refused && resent == 0) return $"the view's store no longer holds '{letter.Key}': the view was built again since; drop the letter";
        if (documents.Count == 0 && rows.Count == 0 && resent == 0) return null;
        // Placeholders of values the origin did not send take the view's values, as in a live batch: written as they are,
        // they would replace real data.
        if (aggregation is null && admitted is { HasUnavailableValues: true })
        {
            var filled = documents.ToList();
            await UnavailableValues.FillAsync(filled, live.Sink, cancellationToken).ConfigureAwait(false);
            documents = filled;
        }
        // Every document came from the one replayed change.
        var origins = documents.Select(d => d.Position).Distinct().ToDictionary(position => position, _ => admitted!);
        IReadOnlyList<GroupWrite> groups = [];
        // An aggregating view takes the groups the replayed members change, as a live batch would give them.
        if (aggregation is not null) (documents, groups) = await aggregation.ApplyAsync(live, documents, origins, live.Offset.Value, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<Joins.JoinedWrite> joined = [];
        if (join is not null) (documents, joined) = await join.ApplyAsync(live, documents, rows, origins, live.Offset.Value, cancellationToken).ConfigureAwait(false);
        var batch = new SinkBatch(Pipeline, documents, live.Offset.Value) { BasedOn = live.Offset.Value, Fence = live.Fence };
        var result = await sinkRetry.ExecuteAsync(async token => await live.Sink.WriteAsync(batch, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        if (aggregation is not null) await aggregation.WrittenAsync(live, groups, cancellationToken).ConfigureAwait(false);
        if (join is not null) await join.WrittenAsync(live, joined, cancellationToken).ConfigureAwait(false);
        return result.Rejected.Count == 0 ? null : string.Join("; ", result.Rejected.Select(r => r.Reason));
    }

    /// <summary>The change event stored with the letter, when it holds one (a projection or a sink refused it).</summary>
    private static ChangeEvent? Stored(DeadLetter letter) => DeadLetterEvent.Deserialize(letter.Event, letter.Key);

    private static async Task<ChangeEvent?> ReadAgainAsync(ViewTarget live, DeadLetter letter, CancellationToken cancellationToken)
    {
        var batch = await live.Source.ReadAsync(letter.Position - 1, 1, cancellationToken).ConfigureAwait(false);
        // By offset alone: a letter a sink refused is filed under the document's key, not the record's.
        var record = batch.Records.FirstOrDefault(r => r.Offset == letter.Position);
        if (record?.Reason is { } reason) throw new InvalidOperationException(reason);
        return record?.Change;
    }

    private async IAsyncEnumerable<DeadLetter> SelectAsync(DeadLetterSelection selection, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var wanted = selection.Ids?.ToHashSet();
        if (wanted is { Count: 0 }) yield break;
        var (after, left) = (selection.AfterId, selection.Limit);
        while (left > 0)
        {
            var page = await state.ReadDeadLettersAsync(Pipeline, after, PageSize, cancellationToken).ConfigureAwait(false);
            foreach (var letter in page)
            {
                if (wanted is not null && !wanted.Contains(letter.Id)) continue;
                yield return letter;
                if (--left == 0) yield break;
            }
            if (page.Count < PageSize || (wanted is not null && page[^1].Id >= wanted.Max())) yield break;
            after = page[^1].Id;
        }
    }
}

using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Unbundled.Pipelines.DeadLetters;

/// <summary>Which of a pipeline's dead letters to replay: some by id, a page, or all of them.</summary>
/// <param name="Ids">These letters (others are left alone).</param>
/// <param name="AfterId">With <paramref name="Limit"/>: the page of letters after this id.</param>
/// <param name="Limit">How many letters of the page (or of all) at most.</param>
public sealed record DeadLetterSelection(IReadOnlyList<long>? Ids = null, long AfterId = 0, int Limit = int.MaxValue);

/// <summary>What became of one replayed letter: written to the view (and removed), or failed again (kept, with the new reason).</summary>
public sealed record DeadLetterReplayed(long Id, bool Written, string? Reason);

/// <summary>
/// Dead-letter replays asked of running pipelines. A replay runs in the pipeline's own worker, between
/// its batches, through the pipeline's current definition and live sink: never beside the worker, so a
/// replayed write and a live one never race for one key.
/// </summary>
public sealed class DeadLetterReplays
{
    private readonly ConcurrentDictionary<string, Channel<ReplayRequest>> _queues = new(StringComparer.Ordinal);

    /// <summary>Replays the selected letters of <paramref name="pipeline"/>; null when no such pipeline runs.</summary>
    public async Task<IReadOnlyList<DeadLetterReplayed>?> ReplayAsync(string pipeline, DeadLetterSelection selection, CancellationToken cancellationToken)
    {
        if (!_queues.TryGetValue(pipeline, out var queue)) return null;
        var request = new ReplayRequest(selection, new TaskCompletionSource<IReadOnlyList<DeadLetterReplayed>>(TaskCreationOptions.RunContinuationsAsynchronously));
        await queue.Writer.WriteAsync(request, cancellationToken).ConfigureAwait(false);
        return await request.Done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    internal ChannelReader<ReplayRequest> Register(string pipeline) =>
        _queues.GetOrAdd(pipeline, _ => Channel.CreateUnbounded<ReplayRequest>(new UnboundedChannelOptions { SingleReader = true })).Reader;

    /// <summary>One replay asked of a worker, and where it answers.</summary>
    internal sealed record ReplayRequest(DeadLetterSelection Selection, TaskCompletionSource<IReadOnlyList<DeadLetterReplayed>> Done);
}

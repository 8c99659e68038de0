using System.Collections.Concurrent;
using Unbundled.Log;

namespace Unbundled.Master;

/// <summary>
/// Group commit: concurrent flushes to different models share one log transaction. The first caller
/// that finds no write under way leads: it drains the queue into a transaction and writes it, then
/// the next batch, until the queue is empty. A conflict fails only the append it names; the others
/// are written again without it.
/// </summary>
internal sealed class GroupCommitter(ICommandLog log, int maxAppendsPerTransaction)
{
    private readonly ConcurrentQueue<Pending> _queue = new();
    private int _leading;

    public Task<AppendResult> AppendAsync(ModelAppend append)
    {
        var pending = new Pending(append);
        _queue.Enqueue(pending);
        if (Interlocked.CompareExchange(ref _leading, 1, 0) == 0)
            _ = Task.Run(LeadAsync);
        return pending.Result.Task;
    }

    private async Task LeadAsync()
    {
        while (true)
        {
            var batch = new List<Pending>();
            while (batch.Count < maxAppendsPerTransaction && _queue.TryDequeue(out var next)) batch.Add(next);
            if (batch.Count > 0) await WriteAsync(batch).ConfigureAwait(false);

            if (!_queue.IsEmpty) continue;
            Volatile.Write(ref _leading, 0);
            // An append enqueued after the emptiness check but before the release found a leader and
            // started none; take the lead back for it.
            if (_queue.IsEmpty || Interlocked.CompareExchange(ref _leading, 1, 0) != 0) return;
        }
    }

    private async Task WriteAsync(List<Pending> batch)
    {
        while (batch.Count > 0)
        {
            try
            {
                // The writes of other callers' flushes must not be abandoned because one caller gave up.
                var results = await log.AppendAsync(batch.Select(p => p.Append).ToList(), CancellationToken.None).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++) batch[i].Result.TrySetResult(results[i]);
                return;
            }
            catch (Exception error)
            {
                var loser = error is ConcurrencyConflictException conflict && batch.Count > 1
                    ? batch.FindIndex(p => p.Append.Model == conflict.Model)
                    : -1;
                if (loser < 0)
                {
                    foreach (var pending in batch) pending.Result.TrySetException(error);
                    return;
                }
                batch[loser].Result.TrySetException(error);
                batch.RemoveAt(loser);
            }
        }
    }

    private sealed record Pending(ModelAppend Append)
    {
        public TaskCompletionSource<AppendResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

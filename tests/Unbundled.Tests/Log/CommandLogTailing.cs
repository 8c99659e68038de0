using System.Runtime.CompilerServices;

using Unbundled.Log;

namespace Unbundled.Tests.Log;

/// <summary>Reading the log from a position onwards, forever: how the log contract tests a tailing reader (pipelines read through their source).</summary>
internal static class CommandLogTailing
{
    /// <summary>
    /// Every entry after <paramref name="afterPosition"/>, in order, then each new one as it is
    /// appended, until cancelled. Batches are read <paramref name="batchSize"/> at a time.
    /// </summary>
    public static async IAsyncEnumerable<LogEntry> TailAsync(
        this ICommandLog log,
        long afterPosition,
        int batchSize = 1000,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var position = afterPosition;
        while (!cancellationToken.IsCancellationRequested)
        {
            var batch = await log.ReadAsync(position, batchSize, cancellationToken).ConfigureAwait(false);
            foreach (var entry in batch)
            {
                yield return entry;
                position = entry.Position;
            }
            if (batch.Count < batchSize)
                await log.WaitForEntriesAsync(position, cancellationToken).ConfigureAwait(false);
        }
    }
}

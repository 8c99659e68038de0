using System.Collections.Concurrent;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// Who in this process streams from each slot. PostgreSQL lets one connection at a time stream from a
/// slot; when a second reader of the same slot starts streaming (a pipeline restarting while its old
/// reader shuts down), the holder is asked to stop first instead of both failing with "slot is active".
/// </summary>
public sealed class SlotLeases
{
    private readonly ConcurrentDictionary<string, Func<Task>> _holders = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PostgresSource> _readers = new(StringComparer.Ordinal);

    /// <summary>Notes <paramref name="reader"/> as the reader of <paramref name="pipeline"/>'s live view (the newest generation to connect).</summary>
    internal void Reads(string pipeline, PostgresSource reader) => _readers[pipeline] = reader;

    /// <summary>Forgets <paramref name="reader"/> when it stops.</summary>
    internal void Stops(string pipeline, PostgresSource reader) => _readers.TryRemove(KeyValuePair.Create(pipeline, reader));

    /// <summary>The pipeline's own reader in this process, which lookups ask for heads rather than guessing from the WAL.</summary>
    internal PostgresSource? ReaderOf(string pipeline) => _readers.GetValueOrDefault(pipeline);

    /// <summary>Takes <paramref name="slot"/> for a reader that stops its stream with <paramref name="yield"/>.</summary>
    internal async Task TakeAsync(string slot, Func<Task> yield)
    {
        while (_holders.TryGetValue(slot, out var holder) && holder != yield)
        {
            await holder().ConfigureAwait(false);
            _holders.TryRemove(KeyValuePair.Create(slot, holder));
        }
        _holders[slot] = yield;
    }

    /// <summary>Gives <paramref name="slot"/> back, if this reader still holds it.</summary>
    internal void Release(string slot, Func<Task> yield) => _holders.TryRemove(KeyValuePair.Create(slot, yield));
}

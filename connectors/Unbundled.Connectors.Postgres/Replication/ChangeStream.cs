using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Snapshot;
using Unbundled.Connectors.Postgres.Values;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// One run of logical replication from the slot, resumed after an offset: a pump turns pgoutput messages
/// into records in a bounded channel (so a transaction of any size streams in constant memory), and the
/// source drains it. Acknowledged offsets become the slot's confirmed flush LSN, only at the end of a
/// transaction every change of which the pipeline has durably handled.
/// </summary>
internal sealed class ChangeStream : IAsyncDisposable
{
    /// <summary>A record, or the end of a transaction (then <see cref="Record"/> is null and <see cref="CommitEnd"/> says where it ends).</summary>
    private sealed record Item(SourceRecord? Record, long Offset, DateTimeOffset CommittedAt, NpgsqlLogSequenceNumber CommitEnd);

    private readonly Channel<Item> _items = Channel.CreateBounded<Item>(new BoundedChannelOptions(8192) { SingleReader = true, SingleWriter = true });
    // Filled by reads and emptied by acknowledgements, which the worker runs at once (it reads the next batch while the
    // last is written and acknowledged): a Queue is safe for neither.
    private readonly ConcurrentQueue<(long Offset, NpgsqlLogSequenceNumber End)> _delivered = new();
    private readonly Queue<EmittedChunk> _emittedChunks = new();
    private readonly object _chunkGate = new();
    private readonly LogicalReplicationConnection _connection;
    private readonly CancellationTokenSource _stop = new();
    private readonly StreamSettings _settings;
    private readonly RowChanges _changes;
    private readonly Task _pump;
    private readonly Task _heartbeat;
    private long _lastMessageTicks = Environment.TickCount64;
    private ulong _processedLsn;
    private volatile bool _awaitingServer;
    private long _awaitingSince;
    private const long KeepaliveQuiet = 20;

    /// <summary>What a stream needs from its source.</summary>
    internal sealed record StreamSettings(NpgsqlDataSource Database, string ConnectionString, string Slot, string Publication, IReadOnlyList<CapturedTable> Tables,
        PgTypes Types, RowEvents Events, TimeSpan Heartbeat, ILogger Logger, Watermarks Watermarks);

    private ChangeStream(StreamSettings settings, LogicalReplicationConnection connection, long afterOffset)
    {
        _settings = settings;
        _changes = new RowChanges(settings);
        _connection = connection;
        Cursor = afterOffset;
        _pump = Task.Run(() => PumpAsync(afterOffset, _stop.Token));
        _heartbeat = settings.Heartbeat > TimeSpan.Zero ? Task.Run(() => HeartbeatAsync(_stop.Token)) : Task.CompletedTask;
    }

    /// <summary>The offset of the last item handed out.</summary>
    public long Cursor { get; private set; }

    /// <summary>Opens a replication connection and streams from the slot to resume after <paramref name="afterOffset"/>.</summary>
    public static async Task<ChangeStream> StartAsync(StreamSettings settings, long afterOffset, CancellationToken cancellationToken)
    {
        var connection = new LogicalReplicationConnection(settings.ConnectionString);
        await connection.Open(cancellationToken).ConfigureAwait(false);
        return new ChangeStream(settings, connection, afterOffset);
    }

    /// <summary>Up to <paramref name="maxCount"/> records at hand now, without waiting; throws what stopped the stream.</summary>
    public SourceBatch Read(int maxCount)
    {
        var records = new List<SourceRecord>();
        var committedAt = (DateTimeOffset?)null;
        while (records.Count < maxCount && _items.Reader.TryRead(out var item))
        {
            Cursor = item.Offset;
            committedAt = item.CommittedAt;
            if (item.Record is { } record) records.Add(record);
            else _delivered.Enqueue((item.Offset, item.CommitEnd));
        }
        if (records.Count == 0 && _items.Reader.Completion.IsCompleted) _items.Reader.Completion.GetAwaiter().GetResult();
        return new SourceBatch(records, Cursor, committedAt) { MoreAvailable = _items.Reader.Count > 0 };
    }

    /// <summary>Completes when an item is at hand or the stream stopped.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _items.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // A stopped stream is reported by the next read.
        }
    }

    /// <summary>
    /// True when the channel is empty and the pump has handled everything the server decoded up to
    /// <paramref name="walLsn"/>: the WAL end of the last message it handled, or of the server's last
    /// keepalive when the pump is waiting for the server (keepalives carry no changes).
    /// </summary>
    public bool CaughtUpWith(NpgsqlLogSequenceNumber walLsn) =>
        _items.Reader.Count == 0 && _awaitingServer
        && (Volatile.Read(ref _processedLsn) >= (ulong)walLsn
            // Npgsql moves LastReceivedLsn as it reads a message, a moment before the pump is handed it: the
            // keepalive's position is trusted only once the pump has waited a while with nothing handed over.
            || ((ulong)_connection.LastReceivedLsn >= (ulong)walLsn && Environment.TickCount64 - Volatile.Read(ref _awaitingSince) >= KeepaliveQuiet));

    /// <summary>
    /// Waits (up to <paramref name="limit"/>) until records are at hand or the stream has caught up with
    /// <paramref name="walLsn"/>, so that a read made after a commit sees it, as with any other source.
    /// </summary>
    public async Task CatchUpAsync(NpgsqlLogSequenceNumber walLsn, TimeSpan limit, CancellationToken cancellationToken)
    {
        var until = Environment.TickCount64 + (long)limit.TotalMilliseconds;
        while (_items.Reader.Count == 0 && !_items.Reader.Completion.IsCompleted && !CaughtUpWith(walLsn) && Environment.TickCount64 < until)
            await Task.Delay(1, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The watermarked chunks the pipeline has handled up to <paramref name="offset"/>, whose tables' progress may now be saved.</summary>
    public IReadOnlyList<EmittedChunk> HandledChunks(long offset)
    {
        var handled = new List<EmittedChunk>();
        lock (_chunkGate)
            while (_emittedChunks.TryPeek(out var chunk) && chunk.Offset <= offset) handled.Add(_emittedChunks.Dequeue());
        return handled;
    }

    /// <summary>Confirms to the server every transaction the pipeline handled up to <paramref name="offset"/>, so the slot releases its WAL.</summary>
    public async ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken)
    {
        NpgsqlLogSequenceNumber? confirmed = null;
        // The only dequeuer: what it peeked is what it dequeues.
        while (_delivered.TryPeek(out var commit) && commit.Offset <= offset && _delivered.TryDequeue(out commit)) confirmed = commit.End;
        if (confirmed is not { } lsn) return;
        _connection.SetReplicationStatus(lsn);
        await _connection.SendStatusUpdate(cancellationToken).ConfigureAwait(false);
    }

    private async Task PumpAsync(long afterOffset, CancellationToken cancellationToken)
    {
        try
        {
            var start = new NpgsqlLogSequenceNumber(ChangeOffsets.ResumeLsn(afterOffset));
            var options = new PgOutputReplicationOptions(_settings.Publication, PgOutputProtocolVersion.V1, binary: false, messages: true);
            ulong commitLsn = 0;
            long? xid = null;
            var committedAt = DateTimeOffset.UnixEpoch;
            var index = 0;
            Volatile.Write(ref _awaitingSince, Environment.TickCount64);
            _awaitingServer = true;
            await foreach (var message in _connection.StartReplication(new PgOutputReplicationSlot(_settings.Slot), options, cancellationToken, start).ConfigureAwait(false))
            {
                _awaitingServer = false;
                Interlocked.Exchange(ref _lastMessageTicks, Environment.TickCount64);
                switch (message)
                {
                    case BeginMessage begin:
                        (commitLsn, xid, committedAt, index) = ((ulong)begin.TransactionFinalLsn, begin.TransactionXid, begin.TransactionCommitTimestamp, 0);
                        break;
                    case RelationMessage relation:
                        await _changes.DescribeAsync(relation, cancellationToken).ConfigureAwait(false);
                        break;
                    case CommitMessage commit:
                        var end = index == 0 ? ChangeOffsets.OfChange(commitLsn, 0) : ChangeOffsets.OfChange(commitLsn, index - 1);
                        if (end > afterOffset) await _items.Writer.WriteAsync(new Item(null, end, committedAt, commit.TransactionEndLsn), cancellationToken).ConfigureAwait(false);
                        break;
                    case InsertMessage or UpdateMessage or DeleteMessage or TruncateMessage:
                        var origin = (commitLsn, xid, committedAt);
                        foreach (var record in await _changes.RecordsAsync(message, origin, () => ChangeOffsets.OfChange(commitLsn, index++), cancellationToken).ConfigureAwait(false))
                        {
                            if (record.Change is { } change) _settings.Watermarks.Changed(change.Source.Schema!, change.Source.Table, change.Key);
                            if (record.Offset > afterOffset) await _items.Writer.WriteAsync(new Item(record, record.Offset, committedAt, default), cancellationToken).ConfigureAwait(false);
                        }
                        break;
                    case LogicalDecodingMessage { Prefix: Watermarks.Prefix } watermark:
                        using (var reader = new StreamReader(watermark.Data))
                        {
                            var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
                            if (text.StartsWith("low:", StringComparison.Ordinal)) _settings.Watermarks.Low(text[4..]);
                            else if (text.StartsWith("high:", StringComparison.Ordinal) && _settings.Watermarks.High(text[5..]) is { } chunk)
                            {
                                var at = new RowOrigin(chunk.Chunk.Table.Schema, chunk.Chunk.Table.Name, xid, commitLsn, committedAt, Snapshot: true);
                                var last = 0L;
                                foreach (var (key, row, _) in chunk.Rows)
                                {
                                    var record = _settings.Events.Record(last = ChangeOffsets.OfChange(commitLsn, index++), ChangeOp.Read, key, null, row, at);
                                    if (record.Offset > afterOffset) await _items.Writer.WriteAsync(new Item(record, record.Offset, committedAt, default), cancellationToken).ConfigureAwait(false);
                                }
                                // The table's progress is saved once the pipeline has handled the whole transaction of the high watermark.
                                lock (_chunkGate) _emittedChunks.Enqueue(new EmittedChunk(Math.Max(last, ChangeOffsets.OfChange(commitLsn, 0)), chunk.Chunk.Table, chunk.Chunk.Rows.Count > 0 ? chunk.Chunk.Rows[^1].KeyTexts : null, chunk.Chunk.Last));
                            }
                        }
                        break;
                }
                Volatile.Write(ref _processedLsn, (ulong)message.WalEnd);
                Volatile.Write(ref _awaitingSince, Environment.TickCount64);
                _awaitingServer = true;
            }
            _items.Writer.TryComplete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _items.Writer.TryComplete();
        }
        catch (Exception error)
        {
            _items.Writer.TryComplete(error);
        }
    }

    // An idle database still moves the slot on: a transactional message is a transaction the pipeline handles and acknowledges.
    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_settings.Heartbeat);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (Environment.TickCount64 - Interlocked.Read(ref _lastMessageTicks) < _settings.Heartbeat.TotalMilliseconds) continue;
                try
                {
                    await using var command = _settings.Database.CreateCommand("select pg_logical_emit_message(true, 'unbundled.heartbeat', '')");
                    await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (NpgsqlException error)
                {
                    _settings.Logger.LogWarning(error, "Heartbeat of slot {Slot} failed", _settings.Slot);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_pump, _heartbeat).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _connection.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}

using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Replication;
using Unbundled.Connectors.Postgres.Snapshot;
using Unbundled.Connectors.Postgres.Values;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres;

/// <summary>
/// Tables of an existing PostgreSQL database as a source: a snapshot of their rows (<c>op: r</c>), then their
/// changes streamed by logical replication (pgoutput) from a slot of this pipeline generation, as Debezium
/// PostgreSQL envelopes. Offsets below the slot's consistent point are snapshot rows; above, streamed
/// changes (<see cref="ChangeOffsets"/>). Acknowledged offsets move the slot, so WAL is kept only until the
/// pipeline has durably handled it.
/// </summary>
public sealed class PostgresSource : ISourceConnector, IGenerationalSource
{
    private readonly PostgresSourceOptions _options;
    private readonly SourceContext _context;
    private readonly SlotLeases _leases;
    private readonly ILogger _logger;
    private readonly NpgsqlDataSource _database;
    private readonly string _connectionString;
    private readonly SnapshotCheckpoints _checkpoints;
    private readonly PgTypes _types;
    private readonly Func<Task> _yield;
    // How long an empty read waits for the stream to reach the WAL flushed when it was made.
    private static readonly TimeSpan CatchUpLimit = TimeSpan.FromSeconds(2);
    private SnapshotReader? _snapshot;
    private ChangeStream? _stream;
    private ChangeStream.StreamSettings? _settings;
    private long _streamStart;
    private long? _snapshotCursor;

    internal PostgresSource(PostgresSourceOptions options, SourceContext context, SlotLeases leases, ILogger<PostgresSource> logger)
    {
        (_options, _context, _leases, _logger) = (options, context, leases, logger);
        // Values are read as text; these settings make that text the same for the snapshot and the stream.
        var builder = new NpgsqlConnectionStringBuilder(options.Connection) { Options = "-c DateStyle=ISO,MDY -c TimeZone=UTC -c bytea_output=hex -c extra_float_digits=1" };
        _connectionString = builder.ConnectionString;
        _database = NpgsqlDataSource.Create(_connectionString);
        Slot = SlotSetup.NameOf("unbundled", context.Pipeline, $"g{context.Generation}");
        Publication = options.Publication ?? SlotSetup.NameOf("unbundled", context.Source);
        _checkpoints = new SnapshotCheckpoints(_database, options.StateSchema, Slot);
        _types = new PgTypes(_database);
        _yield = StopStreamingAsync;
    }

    /// <summary>The replication slot this generation reads.</summary>
    public string Slot { get; }

    /// <summary>The publication of the captured tables.</summary>
    public string Publication { get; }

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (_settings is not null) return;
        var tables = await TableCatalog.ResolveAsync(_database, _options, cancellationToken).ConfigureAwait(false);
        await _types.LoadAsync(cancellationToken).ConfigureAwait(false);
        await _checkpoints.CreateAsync(cancellationToken).ConfigureAwait(false);
        await SlotSetup.EnsurePublicationAsync(_database, Publication, owned: _options.Publication is null, tables, cancellationToken).ConfigureAwait(false);
        var snapshot = !string.Equals(_options.Snapshot, "never", StringComparison.OrdinalIgnoreCase);
        var slot = await SlotSetup.EnsureSlotAsync(_database, _connectionString, Slot, _checkpoints, snapshot, _logger, cancellationToken).ConfigureAwait(false);

        var databaseName = new NpgsqlConnectionStringBuilder(_connectionString).Database ?? "";
        var events = new RowEvents(_context.Source, databaseName, TimeProvider.System);
        _snapshot = new SnapshotReader(_database, snapshot ? tables : [], _types, _checkpoints, events, _options, slot.ConsistentPoint);
        if (slot.ExportedSnapshot is { } exported) _snapshot.ReadIn(exported);
        _streamStart = _snapshot.End;
        _settings = new ChangeStream.StreamSettings(_database, _connectionString, Slot, Publication, tables, _types, events, _options.Heartbeat, _logger);
    }

    /// <inheritdoc />
    public async Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
    {
        if (_settings is null) throw new InvalidOperationException("The postgres source reads once connected");
        if (afterOffset < _streamStart)
        {
            var batch = await _snapshot!.ReadAsync(afterOffset, maxCount, cancellationToken).ConfigureAwait(false);
            _snapshotCursor = batch.Offset < _streamStart ? batch.Offset : null;
            return batch;
        }
        var stream = await StreamAsync(afterOffset, cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = stream.Read(maxCount);
            if (batch.Records.Count > 0 || batch.Offset > afterOffset) return batch;
            await stream.CatchUpAsync(await FlushedWalAsync(cancellationToken).ConfigureAwait(false), CatchUpLimit, cancellationToken).ConfigureAwait(false);
            return stream.Read(maxCount);
        }
        catch (Exception error) when (error is NpgsqlException or IOException or TimeoutException)
        {
            // The connection dropped: the next read streams again from where this one stood.
            _logger.LogWarning(error, "Streaming from slot {Slot} stopped; resuming after offset {Offset}", Slot, stream.Cursor);
            await StopStreamingAsync().ConfigureAwait(false);
            return SourceBatch.Empty(afterOffset);
        }
    }

    /// <inheritdoc />
    public async Task WaitAsync(long afterOffset, CancellationToken cancellationToken)
    {
        if (_settings is null || afterOffset < _streamStart) return;
        var stream = await StreamAsync(afterOffset, cancellationToken).ConfigureAwait(false);
        await stream.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// During the snapshot, the head is where the snapshot should end by the planner's row estimates, so lag
    /// counts rows to go. While streaming and caught up, it is the last offset read; behind, the current WAL
    /// position's offset.
    /// </remarks>
    public async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        if (_snapshotCursor is { } cursor) return await _snapshot!.EstimatedHeadAsync(cursor, cancellationToken).ConfigureAwait(false);
        var wal = await FlushedWalAsync(cancellationToken).ConfigureAwait(false);
        if (_stream is { } stream && stream.CaughtUpWith(wal)) return stream.Cursor;
        return Math.Max(_stream?.Cursor ?? 0, (long)((ulong)wal << 16));
    }

    /// <inheritdoc />
    public ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken) =>
        _stream is { } stream ? stream.AcknowledgeAsync(offset, cancellationToken) : ValueTask.CompletedTask;

    private async Task<NpgsqlLogSequenceNumber> FlushedWalAsync(CancellationToken cancellationToken)
    {
        await using var command = _database.CreateCommand("select pg_current_wal_flush_lsn()");
        return (NpgsqlLogSequenceNumber)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The stream positioned after <paramref name="afterOffset"/>: the running one, or a new one started there.</summary>
    private async Task<ChangeStream> StreamAsync(long afterOffset, CancellationToken cancellationToken)
    {
        if (_stream is { } running && running.Cursor == afterOffset) return running;
        await StopStreamingAsync().ConfigureAwait(false);
        await _leases.TakeAsync(Slot, _yield).ConfigureAwait(false);
        // Another process's reader of the slot (a restart overlapping its predecessor) lets go within moments.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return _stream = await ChangeStream.StartAsync(_settings!, afterOffset, cancellationToken).ConfigureAwait(false);
            }
            catch (PostgresException busy) when (busy.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 50)
            {
                await Task.Delay(200, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task StopStreamingAsync()
    {
        if (_stream is not { } stream) return;
        _stream = null;
        await stream.DisposeAsync().ConfigureAwait(false);
        _leases.Release(Slot, _yield);
    }

    /// <inheritdoc />
    public async Task DropAsync(CancellationToken cancellationToken)
    {
        await StopStreamingAsync().ConfigureAwait(false);
        await SlotSetup.DropSlotAsync(_database, Slot, cancellationToken).ConfigureAwait(false);
        await _checkpoints.ForgetAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopStreamingAsync().ConfigureAwait(false);
        if (_snapshot is not null) await _snapshot.DisposeAsync().ConfigureAwait(false);
        await _database.DisposeAsync().ConfigureAwait(false);
    }
}

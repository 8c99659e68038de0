using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Replication;
using Unbundled.Connectors.Postgres.Snapshot;
using Unbundled.Connectors.Postgres.Values;
using Unbundled.Sdk;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres;

/// <summary>
/// Tables of an existing PostgreSQL database as a source: a snapshot of their rows (<c>op: r</c>), then their
/// changes streamed by logical replication (pgoutput) from a slot of this pipeline generation, as Debezium
/// PostgreSQL envelopes. Offsets below the slot's consistent point are snapshot rows; above, streamed
/// changes (<see cref="ChangeOffsets"/>). Acknowledged offsets move the slot, so WAL is kept only until the
/// pipeline has durably handled it.
/// </summary>
public sealed class PostgresSource : ISourceConnector, IGenerationalSource, IDescribedSource
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
    private WatermarkedSnapshot? _watermarked;
    private ChangeStream? _stream;
    private ChangeStream.StreamSettings? _settings;
    private long _streamStart;
    private long? _snapshotCursor;
    private bool _looking;
    private Timer? _described;

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

    /// <summary>The pipeline this reader serves.</summary>
    internal string Pipeline => _context.Pipeline;

    /// <summary>The publication of the captured tables.</summary>
    public string Publication { get; }

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (_settings is not null || _looking) return;
        var tables = await TableCatalog.ResolveAsync(_database, _options, cancellationToken).ConfigureAwait(false);
        // A lookup beside the pipeline creates nothing: the slot and publication are its reader's to make.
        if (_context.Lookup)
        {
            _looking = true;
            return;
        }
        await _types.LoadAsync(cancellationToken).ConfigureAwait(false);
        await _checkpoints.CreateAsync(cancellationToken).ConfigureAwait(false);
        await SlotSetup.EnsurePublicationAsync(_database, Publication, owned: _options.Publication is null, tables, cancellationToken).ConfigureAwait(false);
        var snapshot = !string.Equals(_options.Snapshot, "never", StringComparison.OrdinalIgnoreCase);
        var slot = await SlotSetup.EnsureSlotAsync(_database, _connectionString, Slot, _checkpoints, snapshot, _logger, cancellationToken).ConfigureAwait(false);

        if (_snapshot is not null) await _snapshot.DisposeAsync().ConfigureAwait(false);
        var databaseName = new NpgsqlConnectionStringBuilder(_connectionString).Database ?? "";
        var events = new RowEvents(_context.Source, databaseName, TimeProvider.System);
        _snapshot = new SnapshotReader(_database, snapshot ? tables : [], _types, _checkpoints, events, _options, slot.ConsistentPoint);
        if (slot.ExportedSnapshot is { } exported) _snapshot.ReadIn(exported);
        _streamStart = _snapshot.End;
        var watermarks = new Watermarks();
        _watermarked = new WatermarkedSnapshot(_database, _checkpoints, watermarks, _types, _options, _logger);
        // Tables a new slot's snapshot covers are done; a table added to a running source is read between watermarks.
        await _watermarked.StartAsync(tables, coveredBySnapshot: slot.Created || !snapshot, cancellationToken).ConfigureAwait(false);
        _settings = new ChangeStream.StreamSettings(_database, _connectionString, Slot, Publication, tables, _types, events, _options.Heartbeat, _logger, watermarks);
        _leases.Reads(_context.Pipeline, this);
        SlotMetrics.Watch(this);
        _described ??= new Timer(_ => _ = DescribeQuietlyAsync(), null, TimeSpan.Zero, TimeSpan.FromSeconds(15));
    }

    // Keeps the retained-WAL metric and the loud "lost" log current while nobody asks for status.
    private async Task DescribeQuietlyAsync()
    {
        try
        {
            await DescribeAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception error) when (error is NpgsqlException or ObjectDisposedException)
        {
        }
    }

    /// <inheritdoc />
    /// <remarks>A rebuild reads from a slot of its own, created with a snapshot of the tables as they are now.</remarks>
    public bool RebuildsFromCurrentState => true;

    /// <inheritdoc />
    public async Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
    {
        if (_looking)
            throw new ConnectorRefusedException($"A postgres source is read by its pipeline's own slot only, so pipeline '{_context.Pipeline}' cannot replay it beside itself (a push feed over it follows from now, without 'after')");
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
            if (_watermarked!.Pending) await _watermarked.StepAsync(cancellationToken).ConfigureAwait(false);
            var batch = stream.Read(maxCount);
            if (batch.Records.Count > 0 || batch.Offset > afterOffset) return batch;
            await stream.CatchUpAsync(await FlushedWalAsync(cancellationToken).ConfigureAwait(false), CatchUpLimit, cancellationToken).ConfigureAwait(false);
            return stream.Read(maxCount);
        }
        catch (Exception error) when (error is NpgsqlException or IOException or TimeoutException)
        {
            // The connection dropped: the next read streams again from where this one stood, unless the slot
            // itself is gone or invalidated, which makes a new slot and a new snapshot after this offset.
            _logger.LogWarning(error, "Streaming from slot {Slot} stopped; resuming after offset {Offset}", Slot, stream.Cursor);
            await StopStreamingAsync().ConfigureAwait(false);
            // A cause that outlasts a reconnect (a publication dropped by hand) is retried calmly, not in a loop.
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            if (await SlotSetup.StatusAsync(_database, Slot, cancellationToken).ConfigureAwait(false) is null or "lost")
            {
                _settings = null;
                await ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
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
        // A lookup asks the pipeline's own reader, which knows whether it has read all the WAL holds for it.
        if (PipelineReader is { } reader) return await reader.ReadHeadAsync(cancellationToken).ConfigureAwait(false);
        if (_snapshotCursor is { } cursor) return await _snapshot!.EstimatedHeadAsync(cursor, cancellationToken).ConfigureAwait(false);
        var wal = await FlushedWalAsync(cancellationToken).ConfigureAwait(false);
        if (_stream is { } stream && stream.CaughtUpWith(wal)) return stream.Cursor;
        return Math.Max(_stream?.Cursor ?? 0, (long)((ulong)wal << 16));
    }

    /// <inheritdoc />
    public async ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken)
    {
        if (_stream is not { } stream) return;
        await stream.AcknowledgeAsync(offset, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in stream.HandledChunks(offset)) await _watermarked!.HandledAsync(chunk, cancellationToken).ConfigureAwait(false);
    }

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
    /// <remarks>The live generation's slot: name, whether a reader streams from it, <c>wal_status</c>, the WAL it retains and what is not yet confirmed.</remarks>
    public async Task<IReadOnlyDictionary<string, string>> DescribeAsync(CancellationToken cancellationToken)
    {
        if (PipelineReader is { } reader) return await reader.DescribeAsync(cancellationToken).ConfigureAwait(false);
        var slot = Slot;
        await using var command = _database.CreateCommand("""
            select active, coalesce(wal_status, ''), pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint
            from pg_replication_slots where slot_name = $1
            """);
        command.Parameters.Add(new() { Value = slot });
        await using var row = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await row.ReadAsync(cancellationToken).ConfigureAwait(false)) return new Dictionary<string, string> { ["slot"] = slot, ["walStatus"] = "missing" };
        var described = new Dictionary<string, string>
        {
            ["slot"] = slot,
            ["active"] = row.GetBoolean(0) ? "true" : "false",
            ["walStatus"] = row.GetString(1),
            ["retainedBytes"] = row.GetInt64(2).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["unconfirmedBytes"] = row.GetInt64(3).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        RetainedBytes = row.GetInt64(2);
        if (row.GetString(1) is "lost" or "unreserved")
            _logger.LogError("Replication slot {Slot} is {Status}: PostgreSQL has dropped or will drop WAL it still needs; its view will be snapshotted again", slot, row.GetString(1));
        return described;
    }

    /// <summary>For a lookup, the pipeline's own reader in this process, which knows how its slot and stream stand.</summary>
    private PostgresSource? PipelineReader => _looking && _leases.ReaderOf(_context.Pipeline) is { } reader && reader != this ? reader : null;

    /// <summary>The WAL the slot kept at its last description, in bytes (the metric <c>unbundled.source.postgres.retained_wal</c>).</summary>
    internal long RetainedBytes { get; private set; }

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
        _leases.Stops(_context.Pipeline, this);
        SlotMetrics.Forget(this);
        if (_described is not null) await _described.DisposeAsync().ConfigureAwait(false);
        await StopStreamingAsync().ConfigureAwait(false);
        if (_snapshot is not null) await _snapshot.DisposeAsync().ConfigureAwait(false);
        await _database.DisposeAsync().ConfigureAwait(false);
    }
}

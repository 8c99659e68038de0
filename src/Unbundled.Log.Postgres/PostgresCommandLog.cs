using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Polly.Retry;
using Unbundled.Model;

namespace Unbundled.Log.Postgres;

/// <summary>
/// The production command log on PostgreSQL.
/// <para>
/// Why positions come from a locked counter row and not from a sequence: a sequence (or identity)
/// hands out numbers when rows are inserted, but rows become visible when their transaction
/// commits, and transactions commit in any order. A reader can then see position 11 while the
/// transaction holding 10 is still open, move its offset to 11 and never read 10 — the gap problem
/// that makes event stores invent "high-water mark" detectors and skip-after-timeout heuristics.
/// Here every append first updates the single <c>log_head</c> row (<c>position = position + n</c>)
/// in its transaction. That row lock is held until commit, so the next append cannot take its
/// positions before this one has committed and become visible: positions are allocated in commit
/// order, a reader that sees p sees everything below p, and a rolled-back append rolls its
/// allocation back too, leaving no gap. Appends are therefore serial; the master's group commit
/// puts concurrent flushes into one transaction so that this costs little throughput.
/// </para>
/// <para>
/// Commits are announced with <c>pg_notify</c> (delivered only on commit, in commit order) to a
/// listener connection that wakes waiting readers. A notification sent while that connection is
/// down is lost, so the listener wakes everyone when it reconnects, and a waiter also looks again
/// after <see cref="PostgresLogOptions.SafetyPollInterval"/>: the safety net for what no one saw,
/// never the way readers are normally woken.
/// </para>
/// </summary>
public sealed partial class PostgresCommandLog : ICommandLog, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresAppendListener _listener;
    private readonly PostgresLogOptions _options;
    private readonly ILogger<PostgresCommandLog> _logger;
    private readonly string _schema;
    private readonly string _channel;
    private readonly ResiliencePipeline _transientRetry;

    /// <summary>Creates the log over the configured database and schema.</summary>
    public PostgresCommandLog(IOptions<PostgresLogOptions> options, ILogger<PostgresCommandLog>? logger = null)
    {
        _options = options.Value;
        _logger = logger ?? NullLogger<PostgresCommandLog>.Instance;
        if (!SchemaName().IsMatch(_options.Schema))
            throw new ArgumentException($"'{_options.Schema}' is not a valid schema name: use letters, digits and underscores.", nameof(options));
        if (string.IsNullOrWhiteSpace(_options.ConnectionString))
            throw new ArgumentException("The PostgreSQL connection string is empty.", nameof(options));
        _schema = $"\"{_options.Schema}\"";
        // Channel names stop at 63 bytes; two schemas sharing a truncated name only cause spurious wake-ups.
        var channel = $"unbundled_log_{_options.Schema}".ToLowerInvariant();
        _channel = channel[..Math.Min(channel.Length, 63)];
        _dataSource = NpgsqlDataSource.Create(_options.ConnectionString);
        _listener = new PostgresAppendListener(_options, _channel, _logger);
        _transientRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // Deadlocks and serialization failures leave nothing behind; the append can run again.
                ShouldHandle = new PredicateBuilder().Handle<PostgresException>(e => e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure),
                MaxRetryAttempts = 5,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(5),
            })
            .Build();
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // Two processes starting together must not both try to create the tables.
        await using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock(hashtext('unbundled.schema.' || @schema));
            CREATE SCHEMA IF NOT EXISTS {_schema};
            CREATE TABLE IF NOT EXISTS {_schema}.log_head (
                id       int    PRIMARY KEY CHECK (id = 1),
                position bigint NOT NULL);
            INSERT INTO {_schema}.log_head VALUES (1, 0) ON CONFLICT DO NOTHING;
            CREATE TABLE IF NOT EXISTS {_schema}.command_log (
                position   bigint      PRIMARY KEY,
                model_type text        NOT NULL,
                model_id   text        NOT NULL,
                version    bigint      NOT NULL,
                command    jsonb       NOT NULL,
                ts         timestamptz NOT NULL,
                UNIQUE (model_type, model_id, version));
            CREATE TABLE IF NOT EXISTS {_schema}.models (
                model_type       text   NOT NULL,
                model_id         text   NOT NULL,
                version          bigint NOT NULL,
                last_position    bigint NOT NULL,
                snapshot_version bigint,
                snapshot         jsonb,
                PRIMARY KEY (model_type, model_id));
            """, connection, transaction);
        command.Parameters.AddWithValue("schema", _options.Schema);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken)
    {
        if (appends.Count == 0) return [];
        try
        {
            var appended = await _transientRetry.ExecuteAsync(token => new ValueTask<IReadOnlyList<AppendResult>>(AppendOnceAsync(appends, token)), cancellationToken).ConfigureAwait(false);
            // Readers in this process learn of the append at once; the NOTIFY's round trip through the
            // server is for the other processes (it lengthened view latency's tail by tens of ms under load).
            _listener.Appended();
            return appended;
        }
        catch (PostgresException unique) when (unique.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            // The models table guards versions first; this only fires if its row was tampered with.
            var first = appends[0];
            throw new ConcurrencyConflictException(first.Model, first.ExpectedVersion);
        }
    }

    private async Task<IReadOnlyList<AppendResult>> AppendOnceAsync(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken)
    {
        var total = appends.Sum(a => a.Commands.Count);
        var ends = new long[appends.Count];
        for (long end = 0, i = 0; i < appends.Count; i++) ends[i] = end += appends[(int)i].Commands.Count;

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

        // One round trip: take the positions (the lock that orders appends), check and advance every
        // model's version, and queue the notification that commit will deliver. Taking the head lock
        // before the version checks, not after, is deliberate: model rows are then only ever locked by
        // the holder of the head lock, so appends from different processes cannot deadlock on them and
        // need no key order; checking first would cost a second round trip per transaction and hold
        // the head lock no shorter (it would still be held through the COPY and the commit).
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(Statement($"UPDATE {_schema}.log_head SET position = position + $1 WHERE id = 1 RETURNING position - $1", total));
        for (var i = 0; i < appends.Count; i++) batch.BatchCommands.Add(AdvanceModel(appends[i], total, ends[i]));
        batch.BatchCommands.Add(Statement($"SELECT pg_notify($1, (SELECT position FROM {_schema}.log_head WHERE id = 1)::text)", _channel));

        long start;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            start = reader.GetInt64(0);
            while (await reader.NextResultAsync(cancellationToken).ConfigureAwait(false)) { }
        }
        for (var i = 0; i < appends.Count; i++)
        {
            if (batch.BatchCommands[i + 1].RecordsAffected == 0)
                throw new ConcurrencyConflictException(appends[i].Model, appends[i].ExpectedVersion);
        }

        await CopyEntriesAsync(connection, appends, start, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);

        var results = new AppendResult[appends.Count];
        for (var i = 0; i < appends.Count; i++)
            results[i] = new AppendResult(start + ends[i] - appends[i].Commands.Count + 1, start + ends[i]);
        return results;
    }

    private NpgsqlBatchCommand AdvanceModel(ModelAppend append, long total, long end)
    {
        // The head row was just advanced by this transaction, so head - total + end is this append's last position.
        var lastPosition = $"(SELECT position FROM {_schema}.log_head WHERE id = 1) - {total} + {end}";
        var command = append.ExpectedVersion == 0
            ? new NpgsqlBatchCommand($"""
                INSERT INTO {_schema}.models (model_type, model_id, version, last_position, snapshot_version, snapshot)
                VALUES ($1, $2, $3, {lastPosition}, $4, $5)
                ON CONFLICT (model_type, model_id) DO NOTHING
                """)
            : new NpgsqlBatchCommand($"""
                UPDATE {_schema}.models SET
                    version = $3,
                    last_position = {lastPosition},
                    snapshot_version = COALESCE($4, snapshot_version),
                    snapshot = CASE WHEN $4 IS NULL THEN snapshot ELSE $5 END
                WHERE model_type = $1 AND model_id = $2 AND version = $6
                """);
        command.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = append.Model.Type });
        command.Parameters.Add(new NpgsqlParameter<string>{ TypedValue = append.Model.Id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.NewVersion });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)append.Snapshot?.Version ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter
        {
            Value = append.Snapshot is null ? DBNull.Value : append.Snapshot.State?.ToJsonString() ?? "null",
            NpgsqlDbType = NpgsqlDbType.Jsonb,
        });
        if (append.ExpectedVersion > 0) command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = append.ExpectedVersion });
        return command;
    }

    private async Task CopyEntriesAsync(NpgsqlConnection connection, IReadOnlyList<ModelAppend> appends, long start, CancellationToken cancellationToken)
    {
        await using var writer = await connection.BeginBinaryImportAsync(
            $"COPY {_schema}.command_log (position, model_type, model_id, version, command, ts) FROM STDIN (FORMAT BINARY)",
            cancellationToken).ConfigureAwait(false);
        // Synchronous field writes: they only fill Npgsql's buffer (flushing it rarely, on loopback or a
        // LAN), and awaiting six ValueTasks per row cost more than a fifth of the append throughput.
        var position = start;
        foreach (var append in appends)
        {
            var timestamp = append.Timestamp.ToUniversalTime();
            for (var i = 0; i < append.Commands.Count; i++)
            {
                writer.StartRow();
                writer.Write(++position, NpgsqlDbType.Bigint);
                writer.Write(append.Model.Type, NpgsqlDbType.Text);
                writer.Write(append.Model.Id, NpgsqlDbType.Text);
                writer.Write(append.ExpectedVersion + i + 1, NpgsqlDbType.Bigint);
                writer.Write(CommandJson.Serialize(append.Commands[i]), NpgsqlDbType.Jsonb);
                writer.Write(timestamp, NpgsqlDbType.TimestampTz);
            }
        }
        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LogEntry>> ReadAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT position, model_type, model_id, version, command::text, ts FROM {_schema}.command_log
            WHERE position > $1 ORDER BY position LIMIT $2
            """);
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterPosition });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = maxCount });
        return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT position FROM {_schema}.log_head WHERE id = 1");
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<StoredModel> ReadModelAsync(ModelKey model, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT version, last_position, snapshot_version, snapshot::text FROM {_schema}.models
            WHERE model_type = $1 AND model_id = $2
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = model.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = model.Id });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return new StoredModel(model, 0, 0, null);
        var snapshot = reader.IsDBNull(2) ? null : new ModelSnapshot(reader.GetInt64(2), JsonNode.Parse(reader.GetString(3)));
        return new StoredModel(model, reader.GetInt64(0), reader.GetInt64(1), snapshot);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LogEntry>> ReadModelEntriesAsync(ModelKey model, long afterVersion, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT position, model_type, model_id, version, command::text, ts FROM {_schema}.command_log
            WHERE model_type = $1 AND model_id = $2 AND version > $3 ORDER BY version
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = model.Type });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = model.Id });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterVersion });
        return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WaitForEntriesAsync(long afterPosition, CancellationToken cancellationToken)
    {
        var next = _listener.Next;
        if (await ReadHeadAsync(cancellationToken).ConfigureAwait(false) > afterPosition) return;
        using var safety = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        await Task.WhenAny(next, Task.Delay(_options.SafetyPollInterval, safety.Token)).ConfigureAwait(false);
        await safety.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        // The container disposes the log once as itself and once as ICommandLog (issue #17): only the first counts.
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _listener.DisposeAsync().ConfigureAwait(false);
        await _dataSource.DisposeAsync().ConfigureAwait(false);
    }

    private int _disposed;

    private static NpgsqlBatchCommand Statement<T>(string sql, T parameter)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.Add(new NpgsqlParameter<T> { TypedValue = parameter });
        return command;
    }

    private static async Task<IReadOnlyList<LogEntry>> ReadEntriesAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var entries = new List<LogEntry>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            entries.Add(new LogEntry(
                reader.GetInt64(0),
                new ModelKey(reader.GetString(1), reader.GetString(2)),
                reader.GetInt64(3),
                CommandJson.Deserialize(reader.GetString(4)),
                reader.GetFieldValue<DateTimeOffset>(5)));
        }
        return entries;
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex SchemaName();
}

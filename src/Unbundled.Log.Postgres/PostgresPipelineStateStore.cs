using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Log.Postgres;

/// <summary>Pipeline offsets, generations (each with the lease token it was written under) and dead letters in the PostgreSQL log's schema.</summary>
public sealed class PostgresPipelineStateStore : IPipelineStateStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _schema;
    private readonly string _schemaName;

    /// <summary>Uses the same database and schema as the command log.</summary>
    public PostgresPipelineStateStore(IOptions<PostgresLogOptions> options)
    {
        _dataSource = NpgsqlDataSource.Create(options.Value.ConnectionString);
        (_schemaName, _schema) = (options.Value.Schema, $"\"{options.Value.Schema}\"");
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock(hashtext('unbundled.state.' || {Quote(_schema)}));
            CREATE SCHEMA IF NOT EXISTS {_schema};
            CREATE TABLE IF NOT EXISTS {_schema}.pipeline_offsets (
                pipeline text   PRIMARY KEY,
                position bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS {_schema}.dead_letters (
                id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                pipeline  text        NOT NULL,
                position  bigint      NOT NULL,
                key       text        NOT NULL,
                event     text        NOT NULL,
                reason    text        NOT NULL,
                failed_at timestamptz NOT NULL);
            CREATE INDEX IF NOT EXISTS dead_letters_by_pipeline ON {_schema}.dead_letters (pipeline, id);
            DELETE FROM {_schema}.dead_letters d USING {_schema}.dead_letters e
                WHERE d.pipeline = e.pipeline AND d.position = e.position AND d.key = e.key AND d.id > e.id;
            CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_once ON {_schema}.dead_letters (pipeline, position, key);
            CREATE TABLE IF NOT EXISTS {_schema}.dead_letter_drops (
                pipeline text   PRIMARY KEY,
                dropped  bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS {_schema}.pipeline_generations (
                pipeline text PRIMARY KEY,
                active      int  NOT NULL,
                building    int,
                fingerprint text);
            """, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        // Tables from before fencing gain the lease token column. Only then: ALTER TABLE takes an exclusive lock even when
        // the column is there, which would queue every instance's offset writes behind any open reader of the table.
        foreach (var table in (string[])["pipeline_offsets", "pipeline_generations"])
        {
            await using var has = new NpgsqlCommand(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'fence'", connection, transaction);
            has.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _schemaName });
            has.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table });
            if ((long)(await has.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0) continue;
            await using var add = new NpgsqlCommand($"ALTER TABLE {_schema}.{table} ADD COLUMN IF NOT EXISTS fence bigint NOT NULL DEFAULT 0", connection, transaction);
            await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> LoadOffsetAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT position FROM {_schema}.pipeline_offsets WHERE pipeline = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long offset ? offset : 0;
    }

    /// <inheritdoc />
    public Task StoreOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken) =>
        UpsertOffsetAsync(pipeline, offset, fence, "GREATEST(excluded.position, pipeline_offsets.position)", cancellationToken);

    /// <inheritdoc />
    public Task RewindOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken) =>
        UpsertOffsetAsync(pipeline, offset, fence, "excluded.position", cancellationToken);

    /// <summary>Stores an offset as <paramref name="position"/> (SQL over the kept and the new one) says, unless a later lease token wrote it.</summary>
    private async Task UpsertOffsetAsync(string pipeline, long offset, long fence, string position, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_schema}.pipeline_offsets (pipeline, position, fence) VALUES ($1, $2, $3)
            ON CONFLICT (pipeline) DO UPDATE SET position = {position}, fence = GREATEST(excluded.fence, pipeline_offsets.fence)
            WHERE excluded.fence = 0 OR excluded.fence >= pipeline_offsets.fence
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = offset });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fence });
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            throw new SinkFencedException(await HeldFenceAsync("pipeline_offsets", pipeline, cancellationToken).ConfigureAwait(false), fence);
    }

    /// <inheritdoc />
    public async Task<PipelineGeneration> LoadGenerationAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT active, building, fingerprint FROM {_schema}.pipeline_generations WHERE pipeline = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return PipelineGeneration.First;
        return new PipelineGeneration(reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <inheritdoc />
    public async Task StoreGenerationAsync(string pipeline, PipelineGeneration generation, long fence, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_schema}.pipeline_generations (pipeline, active, building, fingerprint, fence) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (pipeline) DO UPDATE SET active = excluded.active, building = excluded.building, fingerprint = excluded.fingerprint,
                fence = GREATEST(excluded.fence, pipeline_generations.fence)
            WHERE excluded.fence = 0 OR excluded.fence >= pipeline_generations.fence
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = generation.Active });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)generation.Building ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)generation.Fingerprint ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = fence });
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            throw new SinkFencedException(await HeldFenceAsync("pipeline_generations", pipeline, cancellationToken).ConfigureAwait(false), fence);
    }

    /// <summary>The lease token a row of <paramref name="table"/> was last written under, for the refusal's message.</summary>
    private async Task<long> HeldFenceAsync(string table, string pipeline, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT fence FROM {_schema}.{table} WHERE pipeline = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<bool> AddDeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO {_schema}.dead_letters (pipeline, position, key, event, reason, failed_at) VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT DO NOTHING
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = letter.Pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = letter.Position });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = letter.Key });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = letter.Event });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = letter.Reason });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = letter.FailedAt.ToUniversalTime() });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<long> CountDroppedDeadLettersAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT COALESCE((SELECT dropped FROM {_schema}.dead_letter_drops WHERE pipeline = $1), 0)");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<long> TrimDeadLettersAsync(string pipeline, long keep, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            WITH dropped AS (
                DELETE FROM {_schema}.dead_letters WHERE pipeline = $1 AND id NOT IN (
                    SELECT id FROM {_schema}.dead_letters WHERE pipeline = $1 ORDER BY id DESC LIMIT $2)
                RETURNING 1)
            INSERT INTO {_schema}.dead_letter_drops (pipeline, dropped) VALUES ($1, (SELECT count(*) FROM dropped))
            ON CONFLICT (pipeline) DO UPDATE SET dropped = {_schema}.dead_letter_drops.dropped + excluded.dropped
            RETURNING dropped
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = keep });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<long> CountDeadLettersAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"SELECT count(*) FROM {_schema}.dead_letters WHERE pipeline = $1");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<bool> RemoveDeadLetterAsync(string pipeline, long id, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_schema}.dead_letters WHERE pipeline = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task ReasonDeadLetterAsync(string pipeline, long id, string reason, DateTimeOffset failedAt, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"UPDATE {_schema}.dead_letters SET reason = $3, failed_at = $4 WHERE pipeline = $1 AND id = $2");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = id });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = failedAt });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string pipeline, long afterId, int pageSize, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            SELECT id, pipeline, position, key, event, reason, failed_at FROM {_schema}.dead_letters
            WHERE pipeline = $1 AND id > $2 ORDER BY id LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = pipeline });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pageSize });
        var letters = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            letters.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
        }
        return letters;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    private static string Quote(string identifier) => "'" + identifier.Replace("'", "''") + "'";
}

using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Log.Sqlite;

/// <summary>Pipeline offsets, generations (each with the lease token it was written under) and dead letters in the embedded log's SQLite file.</summary>
public sealed class SqlitePipelineStateStore(IOptions<SqliteLogOptions> options) : IPipelineStateStore
{
    private readonly SqliteDatabase _database = new(options.Value);

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE IF NOT EXISTS pipeline_offsets (
                pipeline TEXT PRIMARY KEY,
                position INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS dead_letters (
                id        INTEGER PRIMARY KEY AUTOINCREMENT,
                pipeline  TEXT    NOT NULL,
                position  INTEGER NOT NULL,
                key       TEXT    NOT NULL,
                event     TEXT    NOT NULL,
                reason    TEXT    NOT NULL,
                failed_ms INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS dead_letters_by_pipeline ON dead_letters (pipeline, id);
            DELETE FROM dead_letters WHERE id NOT IN (SELECT MIN(id) FROM dead_letters GROUP BY pipeline, position, key);
            CREATE UNIQUE INDEX IF NOT EXISTS dead_letters_once ON dead_letters (pipeline, position, key);
            CREATE TABLE IF NOT EXISTS dead_letter_drops (
                pipeline TEXT PRIMARY KEY,
                dropped  INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS pipeline_generations (
                pipeline TEXT PRIMARY KEY,
                active      INTEGER NOT NULL,
                building    INTEGER,
                fingerprint TEXT);
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        // Files from before fencing gain the lease token column (SQLite has no ADD COLUMN IF NOT EXISTS).
        foreach (var table in (string[])["pipeline_offsets", "pipeline_generations"])
        {
            command.CommandText = $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = 'fence'";
            if ((long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0) continue;
            command.CommandText = $"ALTER TABLE {table} ADD COLUMN fence INTEGER NOT NULL DEFAULT 0";
            try { await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false); }
            catch (SqliteException error) when (error.Message.Contains("duplicate column name", StringComparison.Ordinal))
            {
                // Another process opening the same file added it first.
            }
        }
    }

    /// <inheritdoc />
    public async Task<long> LoadOffsetAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT position FROM pipeline_offsets WHERE pipeline = $p";
        command.Parameters.AddWithValue("$p", pipeline);
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long offset ? offset : 0;
    }

    /// <inheritdoc />
    public Task StoreOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken) =>
        UpsertOffsetAsync(pipeline, offset, fence, "max(excluded.position, position)", cancellationToken);

    /// <inheritdoc />
    public Task RewindOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken) =>
        UpsertOffsetAsync(pipeline, offset, fence, "excluded.position", cancellationToken);

    /// <summary>Stores an offset as <paramref name="position"/> (SQL over the kept and the new one) says, unless a later lease token wrote it.</summary>
    private async Task UpsertOffsetAsync(string pipeline, long offset, long fence, string position, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            INSERT INTO pipeline_offsets (pipeline, position, fence) VALUES ($p, $o, $f)
            ON CONFLICT (pipeline) DO UPDATE SET position = {position}, fence = max(excluded.fence, fence)
            WHERE excluded.fence = 0 OR excluded.fence >= fence
            """;
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$o", offset);
        command.Parameters.AddWithValue("$f", fence);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            throw new SinkFencedException(await HeldFenceAsync(connection, "pipeline_offsets", pipeline, cancellationToken).ConfigureAwait(false), fence);
    }

    /// <inheritdoc />
    public async Task<PipelineGeneration> LoadGenerationAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT active, building, fingerprint FROM pipeline_generations WHERE pipeline = $p";
        command.Parameters.AddWithValue("$p", pipeline);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return PipelineGeneration.First;
        return new PipelineGeneration(reader.GetInt32(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2));
    }

    /// <inheritdoc />
    public async Task StoreGenerationAsync(string pipeline, PipelineGeneration generation, long fence, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            INSERT INTO pipeline_generations (pipeline, active, building, fingerprint, fence) VALUES ($p, $a, $b, $f, $t)
            ON CONFLICT (pipeline) DO UPDATE SET active = excluded.active, building = excluded.building, fingerprint = excluded.fingerprint,
                fence = max(excluded.fence, fence)
            WHERE excluded.fence = 0 OR excluded.fence >= fence
            """;
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$a", generation.Active);
        command.Parameters.AddWithValue("$b", (object?)generation.Building ?? DBNull.Value);
        command.Parameters.AddWithValue("$f", (object?)generation.Fingerprint ?? DBNull.Value);
        command.Parameters.AddWithValue("$t", fence);
        if (await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
            throw new SinkFencedException(await HeldFenceAsync(connection, "pipeline_generations", pipeline, cancellationToken).ConfigureAwait(false), fence);
    }

    /// <summary>The lease token a row of <paramref name="table"/> was last written under, for the refusal's message.</summary>
    private static async Task<long> HeldFenceAsync(SqliteConnection connection, string table, string pipeline, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT fence FROM {table} WHERE pipeline = $p";
        command.Parameters.AddWithValue("$p", pipeline);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<bool> AddDeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO dead_letters (pipeline, position, key, event, reason, failed_ms) VALUES ($p, $pos, $k, $e, $r, $t) ON CONFLICT DO NOTHING";
        command.Parameters.AddWithValue("$p", letter.Pipeline);
        command.Parameters.AddWithValue("$pos", letter.Position);
        command.Parameters.AddWithValue("$k", letter.Key);
        command.Parameters.AddWithValue("$e", letter.Event);
        command.Parameters.AddWithValue("$r", letter.Reason);
        command.Parameters.AddWithValue("$t", letter.FailedAt.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) > 0;
    }

    /// <inheritdoc />
    public async Task<long> CountDroppedDeadLettersAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE((SELECT dropped FROM dead_letter_drops WHERE pipeline = $p), 0)";
        command.Parameters.AddWithValue("$p", pipeline);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<long> TrimDeadLettersAsync(string pipeline, long keep, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        // changes() is what the DELETE just removed, so the count and the delete are one scan.
        command.CommandText = """
            DELETE FROM dead_letters WHERE pipeline = $p AND id NOT IN (SELECT id FROM dead_letters WHERE pipeline = $p ORDER BY id DESC LIMIT $keep);
            INSERT INTO dead_letter_drops (pipeline, dropped) VALUES ($p, changes())
                ON CONFLICT (pipeline) DO UPDATE SET dropped = dropped + excluded.dropped;
            SELECT dropped FROM dead_letter_drops WHERE pipeline = $p;
            """;
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$keep", keep);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<long> CountDeadLettersAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM dead_letters WHERE pipeline = $p";
        command.Parameters.AddWithValue("$p", pipeline);
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<bool> RemoveDeadLetterAsync(string pipeline, long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM dead_letters WHERE pipeline = $p AND id = $id";
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <inheritdoc />
    public async Task ReasonDeadLetterAsync(string pipeline, long id, string reason, DateTimeOffset failedAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE dead_letters SET reason = $reason, failed_ms = $at WHERE pipeline = $p AND id = $id";
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$reason", reason);
        command.Parameters.AddWithValue("$at", failedAt.ToUnixTimeMilliseconds());
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string pipeline, long afterId, int pageSize, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT id, pipeline, position, key, event, reason, failed_ms FROM dead_letters
            WHERE pipeline = $p AND id > $after ORDER BY id LIMIT $n
            """;
        command.Parameters.AddWithValue("$p", pipeline);
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$n", pageSize);
        var letters = new List<DeadLetter>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            letters.Add(new DeadLetter(reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4),
                reader.GetString(5), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(6))));
        }
        return letters;
    }

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => _database.OpenAsync(cancellationToken);
}

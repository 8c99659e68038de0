using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Unbundled.Model;

namespace Unbundled.Log.Sqlite;

/// <summary>
/// The embedded command log: one SQLite file in WAL mode. Every append runs in a <c>BEGIN IMMEDIATE</c>
/// transaction, which takes SQLite's single writer lock before it reads the head position, so
/// positions are allocated and committed one transaction after another: a reader that sees position
/// p already sees every position below it, and a rolled-back append leaves no gap.
/// Appends in this process wake tailing readers at once; a file watcher on the WAL wakes them for
/// appends made by other processes, and <see cref="SqliteLogOptions.SafetyPollInterval"/> bounds the wait
/// should a change notification be missed.
/// </summary>
public sealed class SqliteCommandLog : ICommandLog, IDisposable
{
    private readonly SqliteDatabase _database;
    private readonly SqliteLogOptions _options;
    private readonly AppendSignal _signal = new();
    private FileSystemWatcher? _watcher;

    /// <summary>Opens (and on <see cref="InitializeAsync"/> creates) the log in the configured file.</summary>
    public SqliteCommandLog(IOptions<SqliteLogOptions> options)
    {
        _options = options.Value;
        _database = new SqliteDatabase(_options);
    }

    /// <inheritdoc />
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        var path = _database.FilePath;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, """
            PRAGMA journal_mode = WAL;
            CREATE TABLE IF NOT EXISTS command_log (
                position   INTEGER PRIMARY KEY,
                model_type TEXT    NOT NULL,
                model_id   TEXT    NOT NULL,
                version    INTEGER NOT NULL,
                command    TEXT    NOT NULL,
                ts_ms      INTEGER NOT NULL,
                UNIQUE (model_type, model_id, version));
            CREATE TABLE IF NOT EXISTS models (
                model_type       TEXT    NOT NULL,
                model_id         TEXT    NOT NULL,
                version          INTEGER NOT NULL,
                last_position    INTEGER NOT NULL,
                snapshot_version INTEGER,
                snapshot         TEXT,
                PRIMARY KEY (model_type, model_id));
            """, cancellationToken).ConfigureAwait(false);
        StartWatchingFile(path);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken)
    {
        // Microsoft.Data.Sqlite does its I/O synchronously; keep it off the caller's thread.
        return Task.Run(() => Append(appends, cancellationToken), cancellationToken);
    }

    private IReadOnlyList<AppendResult> Append(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken)
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction(deferred: false);

        using var head = connection.CreateCommand();
        head.CommandText = "SELECT COALESCE(MAX(position), 0) FROM command_log";
        var position = (long)head.ExecuteScalar()!;

        using var create = connection.CreateCommand();
        create.CommandText = """
            INSERT INTO models (model_type, model_id, version, last_position, snapshot_version, snapshot)
            VALUES ($type, $id, $version, $last, $snapshotVersion, $snapshot)
            ON CONFLICT (model_type, model_id) DO NOTHING
            """;
        using var advance = connection.CreateCommand();
        advance.CommandText = """
            UPDATE models SET
                version = $version,
                last_position = $last,
                snapshot_version = COALESCE($snapshotVersion, snapshot_version),
                snapshot = CASE WHEN $snapshotVersion IS NULL THEN snapshot ELSE $snapshot END
            WHERE model_type = $type AND model_id = $id AND version = $expected
            """;
        var bump = new ModelRowParameters(create, advance);

        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO command_log (position, model_type, model_id, version, command, ts_ms) VALUES ($p, $type, $id, $v, $c, $ts)";
        var insertPosition = insert.Parameters.Add("$p", SqliteType.Integer);
        var insertType = insert.Parameters.Add("$type", SqliteType.Text);
        var insertId = insert.Parameters.Add("$id", SqliteType.Text);
        var insertVersion = insert.Parameters.Add("$v", SqliteType.Integer);
        var insertCommand = insert.Parameters.Add("$c", SqliteType.Text);
        var insertTs = insert.Parameters.Add("$ts", SqliteType.Integer);

        var results = new AppendResult[appends.Count];
        for (var a = 0; a < appends.Count; a++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var append = appends[a];
            var first = position + 1;
            position += append.Commands.Count;

            if (bump.Execute(append, position) == 0)
                throw new ConcurrencyConflictException(append.Model, append.ExpectedVersion);

            insertType.Value = append.Model.Type;
            insertId.Value = append.Model.Id;
            insertTs.Value = append.Timestamp.ToUnixTimeMilliseconds();
            for (var i = 0; i < append.Commands.Count; i++)
            {
                insertPosition.Value = first + i;
                insertVersion.Value = append.ExpectedVersion + i + 1;
                insertCommand.Value = CommandJson.Serialize(append.Commands[i]);
                insert.ExecuteNonQuery();
            }
            results[a] = new AppendResult(first, position);
        }

        transaction.Commit();
        _signal.Notify();
        return results;
    }

    /// <summary>
    /// The version check and bump of one model's row: a new model's row is inserted only if absent; an
    /// existing one is advanced only from the expected version. Zero rows changed means a conflict.
    /// </summary>
    private sealed class ModelRowParameters(SqliteCommand create, SqliteCommand advance)
    {
        public int Execute(ModelAppend append, long lastPosition)
        {
            var command = append.ExpectedVersion == 0 ? create : advance;
            command.Parameters.Clear();
            command.Parameters.AddWithValue("$type", append.Model.Type);
            command.Parameters.AddWithValue("$id", append.Model.Id);
            command.Parameters.AddWithValue("$version", append.NewVersion);
            command.Parameters.AddWithValue("$last", lastPosition);
            command.Parameters.AddWithValue("$snapshotVersion", (object?)append.Snapshot?.Version ?? DBNull.Value);
            command.Parameters.AddWithValue("$snapshot", append.Snapshot is null ? DBNull.Value : SerializeState(append.Snapshot.State));
            if (append.ExpectedVersion > 0) command.Parameters.AddWithValue("$expected", append.ExpectedVersion);
            return command.ExecuteNonQuery();
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LogEntry>> ReadAsync(long afterPosition, int maxCount, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT position, model_type, model_id, version, command, ts_ms FROM command_log
            WHERE position > $after ORDER BY position LIMIT $max
            """;
        command.Parameters.AddWithValue("$after", afterPosition);
        command.Parameters.AddWithValue("$max", maxCount);
        return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(MAX(position), 0) FROM command_log";
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <inheritdoc />
    public async Task<StoredModel> ReadModelAsync(ModelKey model, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, last_position, snapshot_version, snapshot FROM models WHERE model_type = $type AND model_id = $id";
        command.Parameters.AddWithValue("$type", model.Type);
        command.Parameters.AddWithValue("$id", model.Id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return new StoredModel(model, 0, 0, null);
        var snapshot = reader.IsDBNull(2)
            ? null
            : new ModelSnapshot(reader.GetInt64(2), reader.IsDBNull(3) ? null : JsonNode.Parse(reader.GetString(3)));
        return new StoredModel(model, reader.GetInt64(0), reader.GetInt64(1), snapshot);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<LogEntry>> ReadModelEntriesAsync(ModelKey model, long afterVersion, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT position, model_type, model_id, version, command, ts_ms FROM command_log
            WHERE model_type = $type AND model_id = $id AND version > $after ORDER BY version
            """;
        command.Parameters.AddWithValue("$type", model.Type);
        command.Parameters.AddWithValue("$id", model.Id);
        command.Parameters.AddWithValue("$after", afterVersion);
        return await ReadEntriesAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WaitForEntriesAsync(long afterPosition, CancellationToken cancellationToken)
    {
        var next = _signal.Next;
        if (await ReadHeadAsync(cancellationToken).ConfigureAwait(false) > afterPosition) return;
        await Task.WhenAny(next, Task.Delay(_options.SafetyPollInterval, cancellationToken)).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <inheritdoc />
    public void Dispose() => _watcher?.Dispose();

    private void StartWatchingFile(string path)
    {
        if (_watcher is not null) return;
        _watcher = new FileSystemWatcher(System.IO.Path.GetDirectoryName(path)!, System.IO.Path.GetFileName(path) + "*")
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size,
            EnableRaisingEvents = true,
        };
        _watcher.Changed += (_, _) => _signal.Notify();
    }

    private static async Task<IReadOnlyList<LogEntry>> ReadEntriesAsync(SqliteCommand command, CancellationToken cancellationToken)
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
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5))));
        }
        return entries;
    }

    private static string SerializeState(JsonNode? state) => state?.ToJsonString() ?? "null";

    private SqliteConnection Open() => _database.Open();

    private Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken) => _database.OpenAsync(cancellationToken);

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

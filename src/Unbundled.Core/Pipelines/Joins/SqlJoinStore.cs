using System.Data.Common;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.State;
using static Unbundled.Pipelines.State.SqlStateDatabase;

namespace Unbundled.Pipelines.Joins;

/// <summary><see cref="IJoinStore"/> in the log's database, in SQL that SQLite and PostgreSQL both speak.</summary>
public sealed class SqlJoinStore(SqlStateDatabase database) : IJoinStore
{
    /// <summary>Keys per lookup of unwritten documents: well under SQLite's and PostgreSQL's limits on parameters.</summary>
    private const int LookupChunk = 500;

    private int _ready;

    private string Documents => database.Table("join_documents");

    private string Rows => database.Table("join_rows");

    /// <inheritdoc />
    public async Task<IReadOnlyList<JoinedWrite>> ApplyAsync(string view, IReadOnlyList<JoinedDocument> documents, IReadOnlyList<JoinedRow> rows,
        Func<JsonObject, JsonObject?, JsonObject> join, IReadOnlyCollection<string>? handedOut, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            var statements = new SqlStatements(connection, transaction);
            if (database.ViewLock is { } viewLock) statements.Add(viewLock, ("view", view));
            foreach (var row in rows)
            {
                // A row newer than the one kept replaces it, and every document embedding it is to be written again: the
                // documents are marked first, while the kept version still tells whether this row is newer.
                statements.Add($"""
                    UPDATE {Documents} SET revision = revision + 1, dirty = 1 WHERE view_name = @view AND row_key = @key AND deleted = 0
                    AND NOT EXISTS (SELECT 1 FROM {Rows} r WHERE r.view_name = @view AND r.row_key = @key AND r.version >= @version)
                    """, ("view", view), ("key", row.Key), ("version", row.Version));
                statements.Add($"""
                    INSERT INTO {Rows} AS r (view_name, row_key, version, row_json) VALUES (@view, @key, @version, @row)
                    ON CONFLICT (view_name, row_key) DO UPDATE SET version = excluded.version, row_json = excluded.row_json WHERE r.version < excluded.version
                    """, ("view", view), ("key", row.Key), ("version", row.Version), ("row", row.Row?.ToJsonString()));
            }
            foreach (var document in documents)
            {
                statements.Add($"""
                    INSERT INTO {Documents} AS d (view_name, doc_key, version, row_key, document, deleted, revision, dirty)
                    VALUES (@view, @key, @version, @row, @document, @deleted, 1, 1)
                    ON CONFLICT (view_name, doc_key) DO UPDATE SET version = excluded.version, row_key = excluded.row_key,
                        document = CASE WHEN excluded.deleted = 1 THEN COALESCE(d.document, excluded.document) ELSE excluded.document END, deleted = excluded.deleted, revision = d.revision + 1, dirty = 1
                    WHERE d.version < excluded.version
                    """, ("view", view), ("key", document.Key), ("version", document.Version), ("row", document.RowKey),
                    ("document", document.Document?.ToJsonString()), ("deleted", document.IsDelete ? 1 : 0));
            }
            await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        var writes = new Dictionary<string, JoinedWrite>(StringComparer.Ordinal);
        if (handedOut is null)
        {
            await ReadUnwrittenAsync(connection, view, null, null, join, writes, cancellationToken).ConfigureAwait(false);
            return [.. writes.Values];
        }
        // Looked up by key: scanning the dirty flags visited the dead index entries their constant flipping leaves (19,932
        // for 44 live rows), a cost that grew until autovacuum ran, and the late-run p99 creep of the sustained bench.
        foreach (var chunk in documents.Select(d => d.Key).Concat(handedOut).Distinct(StringComparer.Ordinal).Chunk(LookupChunk))
            await ReadUnwrittenAsync(connection, view, "doc_key", chunk, join, writes, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in rows.Select(r => r.Key).Distinct(StringComparer.Ordinal).Chunk(LookupChunk))
            await ReadUnwrittenAsync(connection, view, "row_key", chunk, join, writes, cancellationToken).ConfigureAwait(false);
        return [.. writes.Values];
    }

    /// <summary>
    /// Adds to <paramref name="writes"/> the unwritten documents of <paramref name="view"/> whose <paramref name="column"/> is one of
    /// <paramref name="keys"/> (every one when <paramref name="column"/> is null), each joined with its row.
    /// </summary>
    private async Task ReadUnwrittenAsync(DbConnection connection, string view, string? column, string[]? keys, Func<JsonObject, JsonObject?, JsonObject> join,
        Dictionary<string, JoinedWrite> writes, CancellationToken cancellationToken)
    {
        var parameters = new List<(string Name, object? Value)> { ("view", view) };
        var among = "";
        if (column is not null)
        {
            for (var i = 0; i < keys!.Length; i++) parameters.Add(($"k{i}", keys[i]));
            among = $" AND d.{column} IN ({string.Join(", ", Enumerable.Range(0, keys.Length).Select(i => $"@k{i}"))})";
        }
        await using var unwritten = Command(connection, null, $"""
            SELECT d.doc_key, d.revision, d.document, r.row_json, d.deleted FROM {Documents} d
            LEFT JOIN {Rows} r ON r.view_name = d.view_name AND r.row_key = d.row_key
            WHERE d.view_name = @view AND d.dirty = 1{among}
            """, parameters);
        await using var reader = await unwritten.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var key = reader.GetString(0);
            if (writes.ContainsKey(key)) continue;
            var document = reader.IsDBNull(2) ? null : JsonNode.Parse(reader.GetString(2))!.AsObject();
            var row = reader.IsDBNull(3) ? null : JsonNode.Parse(reader.GetString(3)) as JsonObject;
            // A deleted document goes out in its last form, unjoined: enough for a sink to find it by its key template.
            writes[key] = reader.GetInt32(4) == 1
                ? new JoinedWrite(key, reader.GetInt64(1), document, IsDelete: true)
                : new JoinedWrite(key, reader.GetInt64(1), join(document!, row));
        }
    }

    /// <inheritdoc />
    public async Task WrittenAsync(string view, IReadOnlyList<JoinedWrite> written, CancellationToken cancellationToken)
    {
        if (written.Count == 0) return;
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var statements = new SqlStatements(connection, transaction);
        // A document changed again since (a revision above the one written) stays to be written.
        foreach (var write in written)
            statements.Add($"UPDATE {Documents} SET dirty = 0 WHERE view_name = @view AND doc_key = @key AND revision = @revision",
                ("view", view), ("key", write.Key), ("revision", write.Revision));
        await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<int> ResendAsync(string view, IReadOnlyList<string>? keys, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        if (keys is null)
            return await ExecuteAsync(connection, null, $"UPDATE {Documents} SET dirty = 1 WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        var statements = new SqlStatements(connection, null);
        foreach (var key in keys) statements.Add($"UPDATE {Documents} SET dirty = 1 WHERE view_name = @view AND doc_key = @key", ("view", view), ("key", key));
        return await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DropAsync(string view, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Documents} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Rows} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
    }

    private Task EnsureTablesAsync(DbConnection connection, CancellationToken cancellationToken) => database.EnsureAsync(connection,
    [
        $"CREATE TABLE IF NOT EXISTS {Documents} (view_name TEXT NOT NULL, doc_key TEXT NOT NULL, version BIGINT NOT NULL, row_key TEXT, document TEXT, deleted INTEGER NOT NULL, revision BIGINT NOT NULL, dirty INTEGER NOT NULL, PRIMARY KEY (view_name, doc_key))",
        $"CREATE INDEX IF NOT EXISTS join_documents_by_row ON {Documents} (view_name, row_key)",
        // The dirty flag is not indexed: flipping an indexed column made every update leave dead index entries (PostgreSQL
        // cannot update such a row in place), and the flags are read by key now. Stores from before drop the index.
        $"DROP INDEX IF EXISTS {database.Table("join_documents_unwritten")}",
        $"CREATE TABLE IF NOT EXISTS {Rows} (view_name TEXT NOT NULL, row_key TEXT NOT NULL, version BIGINT NOT NULL, row_json TEXT, PRIMARY KEY (view_name, row_key))",
    ], () => Volatile.Read(ref _ready) == 1, () => Volatile.Write(ref _ready, 1), cancellationToken);
}

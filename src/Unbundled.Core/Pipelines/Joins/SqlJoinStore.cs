using System.Data.Common;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.State;
using static Unbundled.Pipelines.State.SqlStateDatabase;

namespace Unbundled.Pipelines.Joins;

/// <summary><see cref="IJoinStore"/> in the log's database, in SQL that SQLite and PostgreSQL both speak.</summary>
public sealed class SqlJoinStore(SqlStateDatabase database) : IJoinStore
{
    private int _ready;

    private string Documents => database.Table("join_documents");

    private string Rows => database.Table("join_rows");

    /// <inheritdoc />
    public async Task<IReadOnlyList<JoinedWrite>> ApplyAsync(string view, IReadOnlyList<JoinedDocument> documents, IReadOnlyList<JoinedRow> rows,
        Func<JsonObject, JsonObject?, JsonObject> join, CancellationToken cancellationToken)
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
        await using var unwritten = Command(connection, null, $"""
            SELECT d.doc_key, d.revision, d.document, r.row_json, d.deleted FROM {Documents} d
            LEFT JOIN {Rows} r ON r.view_name = d.view_name AND r.row_key = d.row_key
            WHERE d.view_name = @view AND d.dirty = 1
            """, [("view", view)]);
        await using var reader = await unwritten.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var writes = new List<JoinedWrite>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var document = reader.IsDBNull(2) ? null : JsonNode.Parse(reader.GetString(2))!.AsObject();
            var row = reader.IsDBNull(3) ? null : JsonNode.Parse(reader.GetString(3)) as JsonObject;
            // A deleted document goes out in its last form, unjoined: enough for a sink to find it by its key template.
            writes.Add(reader.GetInt32(4) == 1
                ? new JoinedWrite(reader.GetString(0), reader.GetInt64(1), document, IsDelete: true)
                : new JoinedWrite(reader.GetString(0), reader.GetInt64(1), join(document!, row)));
        }
        return writes;
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
    public async Task ResendAllAsync(string view, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"UPDATE {Documents} SET dirty = 1 WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
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
        $"CREATE INDEX IF NOT EXISTS join_documents_unwritten ON {Documents} (view_name, dirty)",
        $"CREATE TABLE IF NOT EXISTS {Rows} (view_name TEXT NOT NULL, row_key TEXT NOT NULL, version BIGINT NOT NULL, row_json TEXT, PRIMARY KEY (view_name, row_key))",
    ], () => Volatile.Read(ref _ready) == 1, () => Volatile.Write(ref _ready, 1), cancellationToken);
}

using System.Data.Common;

namespace Unbundled.Pipelines.State;

/// <summary>
/// Statements gathered to run in order, in one round trip where the provider batches them (Npgsql) and one by one
/// where it does not (SQLite, which runs in process): a state store's write per document would otherwise cost a
/// round trip each, and a joining view fell behind the write path on exactly that (#17's sustained bench).
/// </summary>
public sealed class SqlStatements(DbConnection connection, DbTransaction? transaction)
{
    private readonly List<(string Sql, (string Name, object? Value)[] Parameters)> _statements = [];

    /// <summary>Adds <paramref name="sql"/> with <paramref name="parameters"/> (null values as SQL NULL).</summary>
    public void Add(string sql, params (string Name, object? Value)[] parameters) => _statements.Add((sql, parameters));

    /// <summary>Runs the statements added, in order, and forgets them; answers the rows they changed.</summary>
    public async Task<int> ExecuteAsync(CancellationToken cancellationToken)
    {
        var changed = 0;
        if (_statements.Count == 0) return changed;
        if (!connection.CanCreateBatch)
        {
            foreach (var (sql, parameters) in _statements)
                // A SELECT (PostgreSQL's view lock) answers -1.
                changed += Math.Max(0, await SqlStateDatabase.ExecuteAsync(connection, transaction, sql, cancellationToken, parameters).ConfigureAwait(false));
        }
        else
        {
            await using var batch = connection.CreateBatch();
            batch.Transaction = transaction;
            foreach (var (sql, parameters) in _statements)
            {
                var command = batch.CreateBatchCommand();
                command.CommandText = sql;
                SqlStateDatabase.Bind(command.Parameters, command.CreateParameter, parameters);
                batch.BatchCommands.Add(command);
            }
            changed = await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        _statements.Clear();
        return changed;
    }
}

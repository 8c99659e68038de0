using System.Data.Common;

namespace Unbundled.Pipelines.State;

/// <summary>
/// The log's database as the engine's SQL state stores (aggregates, joins) use it: plain SQL that SQLite and
/// PostgreSQL both speak (upserts with <c>ON CONFLICT</c>, named parameters); each log store supplies its
/// connections, table names and what must run before the tables are created.
/// </summary>
public abstract class SqlStateDatabase
{
    /// <summary>An open connection to the log's database.</summary>
    public abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>A table's name, qualified as the database needs.</summary>
    public abstract string Table(string name);

    /// <summary>Statements run first, in the transaction that creates tables (a schema to create, a lock against another instance doing the same).</summary>
    public virtual IEnumerable<string> Preparation => [];

    /// <summary>
    /// A statement that serialises writers of one view until the transaction ends (parameter <c>@view</c>), when the
    /// database does not already (SQLite's writers are serialised by the database itself).
    /// </summary>
    public virtual string? ViewLock => null;

    /// <summary>Runs <paramref name="sql"/> with <paramref name="parameters"/>.</summary>
    public static async Task<int> ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A command of <paramref name="sql"/> with <paramref name="parameters"/> (null values as SQL NULL).</summary>
    public static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, IEnumerable<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        Bind(command.Parameters, command.CreateParameter, parameters);
        return command;
    }

    /// <summary>Adds <paramref name="parameters"/> to a command's or a batch command's collection (null values as SQL NULL).</summary>
    public static void Bind(DbParameterCollection collection, Func<DbParameter> create, IEnumerable<(string Name, object? Value)> parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var parameter = create();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            collection.Add(parameter);
        }
    }

    /// <summary>Creates tables with <paramref name="statements"/> once per process, after <see cref="Preparation"/>, in one transaction.</summary>
    public async Task EnsureAsync(DbConnection connection, IEnumerable<string> statements, Func<bool> ready, Action done, CancellationToken cancellationToken)
    {
        if (ready()) return;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in Preparation.Concat(statements)) await ExecuteAsync(connection, transaction, statement, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        done();
    }
}

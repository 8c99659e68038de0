using System.Data.Common;
using Microsoft.Extensions.Options;
using Unbundled.Pipelines.State;

namespace Unbundled.Log.Sqlite;

/// <summary>The embedded log's SQLite file as the engine's SQL state stores (aggregates, joins) use it.</summary>
public sealed class SqliteStateDatabase(IOptions<SqliteLogOptions> options) : SqlStateDatabase
{
    private readonly SqliteDatabase _database = new(options.Value);

    /// <inheritdoc />
    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _database.OpenAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override string Table(string name) => name;
}

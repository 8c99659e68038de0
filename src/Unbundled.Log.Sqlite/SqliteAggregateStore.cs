using System.Data.Common;
using Microsoft.Extensions.Options;
using Unbundled.Pipelines.Aggregation;

namespace Unbundled.Log.Sqlite;

/// <summary>Aggregating views' members and groups in the embedded log's SQLite file.</summary>
public sealed class SqliteAggregateStore(IOptions<SqliteLogOptions> options) : SqlAggregateStore
{
    private readonly SqliteDatabase _database = new(options.Value);

    /// <inheritdoc />
    protected override string Members => "aggregate_members";

    /// <inheritdoc />
    protected override string Groups => "aggregate_groups";

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => await _database.OpenAsync(cancellationToken).ConfigureAwait(false);
}

using System.Data.Common;
using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Pipelines.Aggregation;

namespace Unbundled.Log.Postgres;

/// <summary>Aggregating views' members and groups in the PostgreSQL log's schema.</summary>
public sealed class PostgresAggregateStore(IOptions<PostgresLogOptions> options) : SqlAggregateStore, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(options.Value.ConnectionString);
    private readonly string _schema = $"\"{options.Value.Schema}\"";

    /// <inheritdoc />
    protected override string Members => $"{_schema}.aggregate_members";

    /// <inheritdoc />
    protected override string Groups => $"{_schema}.aggregate_groups";

    /// <inheritdoc />
    protected override string ViewLock => "SELECT pg_advisory_xact_lock(hashtext('unbundled.aggregate.' || @view))";

    /// <inheritdoc />
    /// <remarks>Instances starting together take turns creating the tables, as the state store's do.</remarks>
    protected override IEnumerable<string> Preparation =>
        [$"SELECT pg_advisory_xact_lock(hashtext('unbundled.aggregates.' || '{options.Value.Schema.Replace("'", "''")}'))", $"CREATE SCHEMA IF NOT EXISTS {_schema}"];

    /// <inheritdoc />
    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

using System.Data.Common;
using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Pipelines.State;

namespace Unbundled.Log.Postgres;

/// <summary>The PostgreSQL log's schema as the engine's SQL state stores (aggregates, joins) use it.</summary>
public sealed class PostgresStateDatabase(IOptions<PostgresLogOptions> options) : SqlStateDatabase, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(options.Value.ConnectionString);
    private readonly string _schema = $"\"{options.Value.Schema}\"";

    /// <inheritdoc />
    public override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public override string Table(string name) => $"{_schema}.{name}";

    /// <inheritdoc />
    /// <remarks>Instances starting together take turns creating the tables, as the state store's do.</remarks>
    public override IEnumerable<string> Preparation =>
        [$"SELECT pg_advisory_xact_lock(hashtext('unbundled.view-state.' || '{options.Value.Schema.Replace("'", "''")}'))", $"CREATE SCHEMA IF NOT EXISTS {_schema}"];

    /// <inheritdoc />
    public override string ViewLock => "SELECT pg_advisory_xact_lock(hashtext('unbundled.view.' || @view))";

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Hosting;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Pipelines.State;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the embedded SQLite command log.</summary>
public static class SqliteLogRegistration
{
    /// <summary>Uses a SQLite file as the command log.</summary>
    public static UnbundledBuilder UseSqliteLog(this UnbundledBuilder builder, Action<SqliteLogOptions>? configure = null)
    {
        var options = builder.Services.AddOptions<SqliteLogOptions>();
        if (configure is not null) options.Configure(configure);
        builder.Services.TryAddSingleton<SqliteCommandLog>();
        builder.Services.TryAddSingleton<ICommandLog>(provider => provider.GetRequiredService<SqliteCommandLog>());
        builder.Services.TryAddSingleton<IPipelineStateStore, SqlitePipelineStateStore>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.State.SqlStateDatabase, SqliteStateDatabase>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.Aggregation.IAggregateStore, Unbundled.Pipelines.Aggregation.SqlAggregateStore>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.Joins.IJoinStore, Unbundled.Pipelines.Joins.SqlJoinStore>();
        return builder;
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Hosting;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Pipelines.Leases;
using Unbundled.Pipelines.State;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL command log.</summary>
public static class PostgresLogRegistration
{
    /// <summary>Uses PostgreSQL as the command log.</summary>
    public static UnbundledBuilder UsePostgresLog(this UnbundledBuilder builder, Action<PostgresLogOptions> configure)
    {
        builder.Services.AddOptions<PostgresLogOptions>().Configure(configure);
        builder.Services.TryAddSingleton<PostgresCommandLog>();
        builder.Services.TryAddSingleton<ICommandLog>(provider => provider.GetRequiredService<PostgresCommandLog>());
        builder.Services.TryAddSingleton<IPipelineStateStore, PostgresPipelineStateStore>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.State.SqlStateDatabase, PostgresStateDatabase>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.Aggregation.IAggregateStore, Unbundled.Pipelines.Aggregation.SqlAggregateStore>();
        builder.Services.TryAddSingleton<Unbundled.Pipelines.Joins.IJoinStore, Unbundled.Pipelines.Joins.SqlJoinStore>();
        // Several instances may share this log: each pipeline that must not run twice runs where its lease is held.
        builder.Services.AddOptions<PipelineLeaseOptions>();
        builder.Services.TryAddSingleton<IPipelineLeases, PostgresPipelineLeases>();
        return builder;
    }
}

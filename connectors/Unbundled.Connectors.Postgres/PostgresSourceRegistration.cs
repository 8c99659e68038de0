using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Connectors.Postgres;
using Unbundled.Connectors.Postgres.Replication;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the PostgreSQL change-data-capture source connector.</summary>
public static class PostgresSourceRegistration
{
    /// <summary>Makes <c>connector: postgres</c> available to pipelines' sources.</summary>
    public static IServiceCollection AddPostgresSource(this IServiceCollection services)
    {
        services.TryAddSingleton<SlotLeases>();
        return services.AddSourceConnector(new PostgresSourceFactory());
    }
}

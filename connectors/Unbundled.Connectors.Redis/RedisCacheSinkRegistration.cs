using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Connectors.Redis;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis read cache sink connector.</summary>
public static class RedisCacheSinkRegistration
{
    /// <summary>Makes <c>connector: redis</c> available to pipelines; <paramref name="defaultConnection"/> serves sinks that name none.</summary>
    public static IServiceCollection AddRedisCacheSink(this IServiceCollection services, Action<RedisConnectionDefaults>? defaultConnection = null)
    {
        services.TryAddSingleton<RedisConnections>();
        var defaults = services.AddOptions<RedisConnectionDefaults>();
        if (defaultConnection is not null) defaults.Configure(defaultConnection);
        return services.AddSinkConnector(new RedisCacheSinkFactory());
    }
}

using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Connectors.Redis;
using Unbundled.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Redis read cache sink connector.</summary>
public static class RedisCacheSinkRegistration
{
    /// <summary>Makes <c>connector: redis</c> available to pipelines; <paramref name="defaultConnection"/> serves sinks that name none.</summary>
    public static UnbundledBuilder AddRedisCacheSink(this UnbundledBuilder builder, Action<RedisConnectionDefaults>? defaultConnection = null)
    {
        builder.Services.TryAddSingleton<RedisConnections>();
        var defaults = builder.Services.AddOptions<RedisConnectionDefaults>();
        if (defaultConnection is not null) defaults.Configure(defaultConnection);
        return builder.AddSinkConnector(new RedisCacheSinkFactory());
    }
}

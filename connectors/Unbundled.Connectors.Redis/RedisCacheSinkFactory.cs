using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Connectors.Redis;

/// <summary>The <c>redis</c> sink connector.</summary>
public sealed class RedisCacheSinkFactory : SinkConnectorFactory<RedisCacheOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "redis";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "prefix";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(RedisCacheOptions options)
    {
        if (!KeyTemplate.TryParse(options.Key, out _, out var error)) yield return ("key", error!);
        if (options.Ttl is { } ttl && ttl <= TimeSpan.Zero) yield return ("ttl", "it must be positive");
        if (options.Database < -1) yield return ("database", "it must be -1 (the default) or a database number");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(RedisCacheOptions options, SinkContext context)
    {
        var connections = context.Services.GetRequiredService<RedisConnections>();
        var configuration = options.Connection is { Length: > 0 } own
            ? own
            : context.Services.GetService<IOptions<RedisConnectionDefaults>>()?.Value.Connection
              ?? throw new InvalidOperationException($"The redis sink of pipeline '{context.Pipeline}' has no connection, and the host provides none.");
        return new RedisCacheSink(context.Pipeline, options, _ => connections.GetAsync(configuration), context.Generation);
    }
}

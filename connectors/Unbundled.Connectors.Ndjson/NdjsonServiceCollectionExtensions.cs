using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Connectors.Ndjson;
using Unbundled.Sdk.Sinks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the NDJSON file sink.</summary>
public static class NdjsonServiceCollectionExtensions
{
    /// <summary>Adds the <c>ndjson</c> connector factory, so that pipelines.yaml can name it; adding it twice is harmless.</summary>
    public static IServiceCollection AddNdjsonFileSink(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<ISinkConnectorFactory, NdjsonFileSinkFactory>());
        return services;
    }
}

using Unbundled.Connectors.Ndjson;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the NDJSON file sink.</summary>
public static class NdjsonServiceCollectionExtensions
{
    /// <summary>Adds the <c>ndjson</c> connector factory, so that pipelines.yaml can name it; adding it twice is harmless.</summary>
    public static IServiceCollection AddNdjsonFileSink(this IServiceCollection services)
    {
        return services.AddSinkConnector(new NdjsonFileSinkFactory());
    }
}

using Unbundled.Connectors.Elasticsearch;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Elasticsearch index sink.</summary>
public static class ElasticsearchRegistration
{
    /// <summary>Makes <c>connector: elasticsearch</c> available to pipelines.</summary>
    public static IServiceCollection AddElasticsearchSink(this IServiceCollection services) => services.AddSinkConnector(new ElasticsearchSinkFactory());
}

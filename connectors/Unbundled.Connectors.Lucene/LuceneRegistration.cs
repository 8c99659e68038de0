using Unbundled.Connectors.Lucene;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the embedded Lucene index sink.</summary>
public static class LuceneRegistration
{
    /// <summary>Makes <c>connector: lucene</c> available to pipelines.</summary>
    public static IServiceCollection AddLuceneIndexSink(this IServiceCollection services) => services.AddSinkConnector(new LuceneIndexSinkFactory());
}

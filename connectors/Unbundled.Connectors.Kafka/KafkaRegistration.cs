using Unbundled.Connectors.Kafka.Sink;
using Unbundled.Connectors.Kafka.Source;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the Kafka sink and source connectors.</summary>
public static class KafkaRegistration
{
    /// <summary>Makes <c>connector: kafka</c> available to pipelines' sinks and sources.</summary>
    public static IServiceCollection AddKafka(this IServiceCollection services) =>
        services.AddSinkConnector(new KafkaSinkFactory()).AddSourceConnector(new KafkaSourceFactory());
}

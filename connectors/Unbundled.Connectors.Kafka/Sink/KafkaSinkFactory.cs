using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>The <c>kafka</c> sink connector.</summary>
public sealed class KafkaSinkFactory : SinkConnectorFactory<KafkaSinkOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "kafka";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "topic";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(KafkaSinkOptions options)
    {
        foreach (var problem in options.ValidateClient()) yield return problem;
        if (options.Value is not ("change" or "document")) yield return ("value", "it must be 'change' or 'document'");
        if (options.Topic is { } topic && !TopicName.IsValid(topic)) yield return ("topic", TopicName.Rule);
        if (options.Topic is null && !TopicName.IsValid(options.TopicPrefix + ".x")) yield return ("topic-prefix", TopicName.Rule);
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(KafkaSinkOptions options, SinkContext context) =>
        new KafkaSink(options, context, context.Services.GetService<ILogger<KafkaSink>>() ?? NullLogger<KafkaSink>.Instance);
}

using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>The <c>kafka</c> source connector.</summary>
public sealed class KafkaSourceFactory : SourceConnectorFactory<KafkaSourceOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "kafka";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "topics";

    /// <inheritdoc />
    /// <remarks>A consumer group shares the partitions among the instances that run the pipeline.</remarks>
    public override bool RunsOnEveryInstance => true;

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(KafkaSourceOptions options)
    {
        foreach (var problem in options.ValidateClient()) yield return problem;
        if (options.Topics.Count == 0 && options.TopicPattern is null) yield return ("topics", "name the topics to read, or a 'topic-pattern'");
        if (options.Topics.Count > 0 && options.TopicPattern is not null) yield return ("topic-pattern", "name either 'topics' or a 'topic-pattern', not both");
        for (var i = 0; i < options.Topics.Count; i++)
            if (!TopicName.IsValid(options.Topics[i])) yield return ($"topics[{i}]", TopicName.Rule);
        if (options.TopicPattern is { } pattern && Problem(pattern) is { } wrong) yield return ("topic-pattern", $"it is not a regular expression: {wrong}");
        if (options.Start is not ("earliest" or "latest")) yield return ("start", "it must be 'earliest' or 'latest'");
        if (options.Format is not ("debezium" or "outbox")) yield return ("format", "it must be 'debezium' or 'outbox'");
        if (options.Version is { } version && (version.Length == 0 || version.Split('.').Any(string.IsNullOrEmpty))) yield return ("version", "it must be a dotted path into the envelope, such as source.lsn");
        if (options.DeadLetterTopic is { } topic && !TopicName.IsValid(topic)) yield return ("dead-letter-topic", TopicName.Rule);
    }

    private static string? Problem(string pattern)
    {
        try { _ = new Regex(pattern); return null; }
        catch (ArgumentException error) { return error.Message; }
    }

    private readonly KafkaReaders _readers = new();

    /// <inheritdoc />
    protected override ISourceConnector Create(KafkaSourceOptions options, SourceContext context) =>
        new KafkaSource(options, context, _readers, context.Services.GetService<ILogger<KafkaSource>>() ?? NullLogger<KafkaSource>.Instance);
}

using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Lucene;

/// <summary>The <c>lucene</c> sink connector.</summary>
public sealed class LuceneIndexSinkFactory : SinkConnectorFactory<LuceneIndexOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "lucene";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "directory";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(LuceneIndexOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory)) yield return ("directory", "it must name a folder");
        if (options.CommitInterval < TimeSpan.Zero) yield return ("commit-interval", "it cannot be negative");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(LuceneIndexOptions options, SinkContext context) => new LuceneIndexSink(context.Pipeline, options, context.Generation);
}

using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson;

/// <summary>The <c>ndjson</c> sink connector.</summary>
public sealed class NdjsonFileSinkFactory : SinkConnectorFactory<NdjsonFileOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "ndjson";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(NdjsonFileOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory)) yield return ("directory", "it must name a folder");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(NdjsonFileOptions options, SinkContext context) => new NdjsonFileSink(context.Pipeline, options);
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson;

/// <summary>The <c>ndjson</c> connector as pipelines.yaml names it: builds an <see cref="NdjsonFileSink"/> per pipeline.</summary>
public sealed class NdjsonFileSinkFactory : SinkConnectorFactory<NdjsonFileOptions>
{
    /// <summary>The placeholder in <see cref="NdjsonFileOptions.Directory"/> that stands for the pipeline's name.</summary>
    public const string PipelinePlaceholder = "{pipeline}";

    /// <summary><c>ndjson</c>.</summary>
    public override string Name => "ndjson";

    /// <inheritdoc />
    public override string? PipeNameOption => "directory";

    /// <summary>Requires a directory that is a valid path and a positive compaction threshold.</summary>
    protected override IEnumerable<(string Option, string Message)> Validate(NdjsonFileOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory))
            yield return ("directory", "must name a directory");
        else if (options.Directory.IndexOfAny(Path.GetInvalidPathChars()) >= 0)
            yield return ("directory", "contains characters a path cannot hold");
        if (options.CompactAfterBytes <= 0)
            yield return ("compact-after-bytes", "must be a positive number of bytes");
    }

    /// <summary>Builds the sink, with <c>{pipeline}</c> in its directory replaced by the pipeline's name.</summary>
    protected override ISinkConnector Create(NdjsonFileOptions options, SinkContext context)
    {
        var resolved = new NdjsonFileOptions
        {
            Directory = options.Directory.Replace(PipelinePlaceholder, context.Pipeline, StringComparison.Ordinal),
            CompactAfterBytes = options.CompactAfterBytes,
        };
        var logger = context.Services.GetService<ILogger<NdjsonFileSink>>() ?? NullLogger<NdjsonFileSink>.Instance;
        return new NdjsonFileSink(resolved, logger);
    }
}

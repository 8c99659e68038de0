using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Replay;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Feeds;

/// <summary>The <c>push-feed</c> sink connector.</summary>
public sealed class PushFeedSinkFactory : SinkConnectorFactory<PushFeedOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "push-feed";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "channel";

    /// <inheritdoc />
    /// <remarks>Each instance pushes to the clients connected to it, so each runs the feed's pipeline.</remarks>
    public override bool RunsOnEveryInstance => true;

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(PushFeedOptions options)
    {
        if (!KeyTemplate.TryParse(options.Channel, out _, out var error)) yield return ("channel", error!);
        if (options.Buffer < 1) yield return ("buffer", "it must be at least 1");
        if (options.MaxCatchUp < 0) yield return ("max-catch-up", "it must not be negative");
        if (options.Heartbeat < TimeSpan.Zero) yield return ("heartbeat", "it must not be negative (0 turns heartbeats off)");
        if (options.CatchUpTimeout <= TimeSpan.Zero) yield return ("catch-up-timeout", "it must be positive");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(PushFeedOptions options, SinkContext context)
    {
        KeyTemplate.TryParse(options.Channel, out var channels, out _);
        var hub = context.Services.GetRequiredService<FeedHub>();
        return new PushFeedSink(hub.Topic(context.Pipeline), options, channels, context.Services.GetRequiredService<IPipelineReplay>(), context.OwnerField);
    }
}

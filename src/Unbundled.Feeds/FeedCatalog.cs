using System.Collections.Concurrent;
using Unbundled.Pipelines;
using Unbundled.Pipelines.Replay;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Feeds;

/// <summary>One push-feed pipeline as the endpoints need it: its options, channel template, live topic, history and owner field.</summary>
public sealed record Feed(string Pipeline, PushFeedOptions Options, KeyTemplate Channels, FeedTopic Topic, FeedHistory History, string? Owner = null);

/// <summary>Finds the push-feed pipelines among the declared ones.</summary>
public sealed class FeedCatalog(PipelineCatalog pipelines, FeedHub hub, IPipelineReplay replay)
{
    private readonly ConcurrentDictionary<string, Feed?> _feeds = new(StringComparer.Ordinal);

    /// <summary>The feed of <paramref name="pipeline"/>; null when no push-feed pipeline has that name.</summary>
    public Feed? Find(string pipeline) => _feeds.GetOrAdd(pipeline, name =>
    {
        if (pipelines.Find(name)?.Definition is not { Sink.Options: PushFeedOptions options } definition) return null;
        KeyTemplate.TryParse(options.Channel, out var channels, out _);
        return new Feed(name, options, channels, hub.Topic(name), new FeedHistory(replay, name, channels, definition.Owner), definition.Owner);
    });
}

using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Log;
using Unbundled.Pipelines.Workers;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.PushFeed;

/// <summary>One push-feed pipeline as the endpoints need it: its options, channel template, live topic, history and owner field.</summary>
public sealed record Feed(string Pipeline, PushFeedOptions Options, DocumentKeyTemplate Channels, FeedTopic Topic, FeedHistory History, string? Owner = null);

/// <summary>Finds the push-feed pipelines among the declared ones.</summary>
public sealed class FeedCatalog(IServiceProvider services, FeedHub hub, ICommandLog log)
{
    private readonly ConcurrentDictionary<string, Feed?> _feeds = new(StringComparer.Ordinal);

    /// <summary>The feed of <paramref name="pipeline"/>; null when no push-feed pipeline has that name.</summary>
    public Feed? Find(string pipeline) => _feeds.GetOrAdd(pipeline, name =>
    {
        if (services.GetKeyedService<PipelineTransform>(name) is not { Definition.Sink.Options: PushFeedOptions options } transform) return null;
        DocumentKeyTemplate.TryParse(options.Channel, out var channels, out _);
        return new Feed(name, options, channels, hub.Topic(name), new FeedHistory(log, transform, channels), transform.Definition.Owner);
    });
}

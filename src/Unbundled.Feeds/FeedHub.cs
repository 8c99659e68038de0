using System.Collections.Concurrent;

namespace Unbundled.Feeds;

/// <summary>This process's push-feed topics, one per push-feed pipeline; the sinks publish into them and the endpoints subscribe.</summary>
public sealed class FeedHub : IDisposable
{
    private readonly ConcurrentDictionary<string, FeedTopic> _topics = new(StringComparer.Ordinal);

    /// <summary>Bounds how many subscribers derive their catch-up from the log at once, so a reconnect storm queues instead of swamping the log store.</summary>
    public SemaphoreSlim CatchUps { get; } = new(Math.Max(2, Environment.ProcessorCount * 2));

    /// <summary>The topic of <paramref name="pipeline"/>.</summary>
    public FeedTopic Topic(string pipeline) => _topics.GetOrAdd(pipeline, name => new FeedTopic(name));

    /// <summary>How many subscribers follow a channel, over all pipelines.</summary>
    public int Subscribers => _topics.Values.Sum(t => t.Subscribers);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var topic in _topics.Values) topic.Dispose();
        CatchUps.Dispose();
    }
}

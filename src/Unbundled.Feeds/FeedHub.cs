using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Unbundled.Feeds;

/// <summary>
/// This process's push-feed topics, one per push-feed pipeline; the sinks publish into them and the endpoints
/// subscribe. Subscribers and cut-offs per pipeline are instruments of the meter <c>Unbundled.Feeds</c>.
/// </summary>
public sealed class FeedHub : IDisposable
{
    /// <summary>The meter's name, for OpenTelemetry or dotnet-counters.</summary>
    public const string MeterName = "Unbundled.Feeds";

    private readonly ConcurrentDictionary<string, FeedTopic> _topics = new(StringComparer.Ordinal);
    private readonly Meter _meter;

    /// <summary>Creates the hub and its instruments.</summary>
    public FeedHub(IMeterFactory? meters = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableGauge("unbundled.feed.subscribers", () => _topics.Values.Select(t => new Measurement<int>(t.Subscribers, new KeyValuePair<string, object?>("pipeline", t.Pipeline))),
            "{subscriber}", "Connections following a channel of the pipeline on this instance.");
        _meter.CreateObservableCounter("unbundled.feed.cut_off", () => _topics.Values.Select(t => new Measurement<long>(t.CutOff, new KeyValuePair<string, object?>("pipeline", t.Pipeline))),
            "{subscriber}", "Subscribers cut off because they fell a whole queue behind; they resume from what they were sent.");
    }

    /// <summary>Bounds how many subscribers derive their catch-up from the log at once, so a reconnect storm queues instead of swamping the log store.</summary>
    public SemaphoreSlim CatchUps { get; } = new(Math.Max(2, Environment.ProcessorCount * 2));

    /// <summary>The topic of <paramref name="pipeline"/>.</summary>
    public FeedTopic Topic(string pipeline) => _topics.GetOrAdd(pipeline, name => new FeedTopic(name));

    /// <summary>How many subscribers follow a channel, over all pipelines.</summary>
    public int Subscribers => _topics.Values.Sum(t => t.Subscribers);

    /// <inheritdoc />
    public void Dispose()
    {
        _meter.Dispose();
        foreach (var topic in _topics.Values) topic.Dispose();
        CatchUps.Dispose();
    }
}

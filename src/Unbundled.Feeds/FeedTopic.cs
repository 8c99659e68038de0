namespace Unbundled.Feeds;

/// <summary>
/// The live side of one push-feed pipeline in this process: which subscribers follow which channel,
/// and the log position the pipeline's worker has published up to. A channel nobody follows costs a
/// dictionary lookup per change and nothing else.
/// </summary>
public sealed class FeedTopic : IDisposable
{
    private readonly System.Threading.Lock _lock = new();
    private readonly Dictionary<string, HashSet<FeedSubscriber>> _channels = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _position;
    private int _subscribers;
    private long _cutOff;
    private Timer? _heartbeats;

    /// <summary>Creates the topic of <paramref name="pipeline"/>.</summary>
    public FeedTopic(string pipeline) => Pipeline = pipeline;

    /// <summary>The push-feed pipeline.</summary>
    public string Pipeline { get; }

    /// <summary>Completes once the pipeline's worker connected its sink and live changes flow.</summary>
    public Task Started => _started.Task;

    /// <summary>The last log position published to subscribers.</summary>
    public long Position
    {
        get { lock (_lock) return _position; }
    }

    /// <summary>How many subscribers follow a channel of this pipeline.</summary>
    public int Subscribers => Volatile.Read(ref _subscribers);

    /// <summary>How many subscribers were cut off because their queue overflowed (they resume from what they were sent).</summary>
    public long CutOff => Interlocked.Read(ref _cutOff);

    /// <summary>Live changes start after <paramref name="position"/>; idle subscribers get a heartbeat every <paramref name="heartbeat"/>.</summary>
    public void Start(long position, TimeSpan heartbeat)
    {
        lock (_lock) _position = Math.Max(_position, position);
        var period = heartbeat > TimeSpan.Zero ? heartbeat / 2 : Timeout.InfiniteTimeSpan;
        _heartbeats?.Dispose();
        _heartbeats = new Timer(_ => SendHeartbeats(heartbeat), null, period, period);
        _started.TrySetResult();
    }

    /// <summary>
    /// Adds a subscriber and answers the position from which it gets live changes: every change after
    /// it goes to its queue, everything up to it the subscriber reads from the log.
    /// </summary>
    public long Subscribe(FeedSubscriber subscriber)
    {
        lock (_lock)
        {
            if (!_channels.TryGetValue(subscriber.Channel, out var followers)) _channels[subscriber.Channel] = followers = [];
            followers.Add(subscriber);
            _subscribers++;
            return _position;
        }
    }

    /// <summary>Removes a subscriber; a channel left without any is forgotten.</summary>
    public void Unsubscribe(FeedSubscriber subscriber)
    {
        lock (_lock)
        {
            if (!_channels.TryGetValue(subscriber.Channel, out var followers) || !followers.Remove(subscriber)) return;
            _subscribers--;
            if (followers.Count == 0) _channels.Remove(subscriber.Channel);
        }
    }

    /// <summary>Hands the changes of one batch to the subscribers of their channels; the topic is then at <paramref name="position"/>.</summary>
    public void Publish(IReadOnlyList<FeedMessage> messages, long position)
    {
        lock (_lock)
        {
            foreach (var message in messages)
            {
                if (message.Position <= _position || !_channels.TryGetValue(message.Channel, out var followers)) continue;
                foreach (var follower in followers)
                {
                    if (follower.Offer(message)) _cutOff++;
                }
            }
            _position = Math.Max(_position, position);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _heartbeats?.Dispose();

    private void SendHeartbeats(TimeSpan interval)
    {
        lock (_lock)
        {
            foreach (var followers in _channels.Values)
            {
                foreach (var follower in followers)
                {
                    if (follower.IdleFor(interval)) follower.Offer(FeedMessage.Heartbeat);
                }
            }
        }
    }
}

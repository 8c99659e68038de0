using System.Threading.Channels;

namespace Unbundled.Feeds;

/// <summary>
/// One connection's live queue on a channel. It holds at most <c>buffer</c> messages: a subscriber
/// that cannot keep up is cut off instead of slowing the others or growing without bound.
/// </summary>
public sealed class FeedSubscriber
{
    private readonly Channel<FeedMessage> _queue;
    private readonly CancellationTokenSource _cutOff = new();
    private long _lastActivity = Environment.TickCount64;

    /// <summary>Creates a subscriber of <paramref name="channel"/> whose queue holds <paramref name="buffer"/> messages.</summary>
    public FeedSubscriber(string channel, int buffer)
    {
        Channel = channel;
        _queue = System.Threading.Channels.Channel.CreateBounded<FeedMessage>(new BoundedChannelOptions(Math.Max(1, buffer))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The channel subscribed to.</summary>
    public string Channel { get; }

    /// <summary>The messages to send, in order.</summary>
    public ChannelReader<FeedMessage> Messages => _queue.Reader;

    /// <summary>Cancelled when the queue overflowed: the connection must end, resumable from what it sent.</summary>
    public CancellationToken CutOff => _cutOff.Token;

    /// <summary>True once the queue overflowed.</summary>
    public bool IsCutOff => _cutOff.IsCancellationRequested;

    /// <summary>
    /// Queues a message; a full queue cuts the subscriber off (and drops the message, which the log still has).
    /// True when this offer cut it off.
    /// </summary>
    public bool Offer(FeedMessage message)
    {
        if (_queue.Writer.TryWrite(message)) return false;
        if (message.Type == FeedMessageType.Heartbeat || !_queue.Writer.TryComplete()) return false;
        _cutOff.Cancel();
        return true;
    }

    /// <summary>Notes that something was sent, so no heartbeat is needed for a while.</summary>
    public void Sent() => Volatile.Write(ref _lastActivity, Environment.TickCount64);

    /// <summary>True when nothing was sent for <paramref name="interval"/>.</summary>
    public bool IdleFor(TimeSpan interval) => Environment.TickCount64 - Volatile.Read(ref _lastActivity) >= interval.TotalMilliseconds;
}

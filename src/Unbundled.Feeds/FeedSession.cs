namespace Unbundled.Feeds;

/// <summary>Where a session writes: an SSE response or a WebSocket.</summary>
public interface IFeedTransport
{
    /// <summary>Queues one message on the connection.</summary>
    ValueTask SendAsync(FeedMessage message, CancellationToken cancellationToken);

    /// <summary>Pushes what was queued to the client.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// One subscriber's whole conversation, whatever the transport: what it missed, from the source; then
/// the hand-over to live changes without a gap or a repeat; then live changes until it leaves or
/// reads too slowly and is cut off.
/// </summary>
/// <param name="tenant">With a tenant, only changes whose document names it as owner are sent.</param>
public sealed class FeedSession(FeedTopic topic, FeedHistory history, PushFeedOptions options, SemaphoreSlim catchUps, string? tenant = null)
{
    private static readonly TimeSpan CutOffGrace = TimeSpan.FromSeconds(1);

    /// <summary>Whether the subscriber may see a message: control messages always, changes only of its own tenant.</summary>
    private bool Visible(FeedMessage message) => tenant is null || message.Type != FeedMessageType.Change || message.Owner == tenant;

    /// <summary>Serves <paramref name="channel"/> from after <paramref name="after"/> (null: from now on); returns false when the subscriber was cut off.</summary>
    public async Task<bool> RunAsync(string channel, long? after, IFeedTransport transport, CancellationToken cancellationToken)
    {
        await topic.Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!await history.CanReplayAsync(cancellationToken).ConfigureAwait(false)) return await RunLiveOnlyAsync(channel, after, transport, cancellationToken).ConfigureAwait(false);
        var head = await history.ReadHeadAsync(cancellationToken).ConfigureAwait(false);
        var cursor = after ?? head;
        if (cursor > head || head - cursor > options.MaxCatchUp)
        {
            var reason = cursor > head
                ? $"position {cursor} is beyond the end of the source ({head}); the source was reset or belongs to another deployment"
                : $"position {cursor} is {head - cursor} entries behind the end of the source; a feed catches up at most {options.MaxCatchUp}";
            await transport.SendAsync(FeedMessage.MustRefetch(channel, head, reason), cancellationToken).ConfigureAwait(false);
            cursor = head;
        }
        // The bulk of the catch-up runs before subscribing, so a long one cannot overflow the live queue.
        cursor = await CatchUpAsync(channel, cursor, head, transport, cancellationToken).ConfigureAwait(false);

        var subscriber = new FeedSubscriber(channel, options.Buffer);
        var live = topic.Subscribe(subscriber);
        try
        {
            // Changes up to the topic's position at subscription come from the source; the queue has all after it.
            cursor = await CatchUpAsync(channel, cursor, live, transport, cancellationToken).ConfigureAwait(false);
            return await GoLiveAsync(subscriber, cursor, transport, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            topic.Unsubscribe(subscriber);
        }
    }

    /// <summary>
    /// A feed that cannot derive a stretch of its source again (a consumer group keeps its own position; an aggregate's
    /// or a join's documents depend on state kept beside the view, not on that stretch): nothing missed can be derived, so a subscriber behind
    /// the live position is told to refetch, as one too far behind is, and follows from there.
    /// </summary>
    private async Task<bool> RunLiveOnlyAsync(string channel, long? after, IFeedTransport transport, CancellationToken cancellationToken)
    {
        var subscriber = new FeedSubscriber(channel, options.Buffer);
        var live = topic.Subscribe(subscriber);
        try
        {
            if (after is { } named && named != live)
                await transport.SendAsync(FeedMessage.MustRefetch(channel, live,
                    $"position {named} is not the feed's live position ({live}), and this feed cannot derive what was missed (its source is a consumer group, or its documents are groups or joins the engine keeps); read the view again"), cancellationToken).ConfigureAwait(false);
            return await GoLiveAsync(subscriber, live, transport, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            topic.Unsubscribe(subscriber);
        }
    }

    /// <summary>Says the subscriber is live at <paramref name="cursor"/> and follows; false when it was cut off.</summary>
    private async Task<bool> GoLiveAsync(FeedSubscriber subscriber, long cursor, IFeedTransport transport, CancellationToken cancellationToken)
    {
        await transport.SendAsync(FeedMessage.Ready(subscriber.Channel, cursor), cancellationToken).ConfigureAwait(false);
        await transport.FlushAsync(cancellationToken).ConfigureAwait(false);
        subscriber.Sent();
        var delivered = await FollowAsync(subscriber, cursor, transport, cancellationToken).ConfigureAwait(false);
        if (!subscriber.IsCutOff) return true;
        await SayCutOffAsync(subscriber, delivered, transport, cancellationToken).ConfigureAwait(false);
        return false;
    }

    private async Task<long> CatchUpAsync(string channel, long from, long until, IFeedTransport transport, CancellationToken cancellationToken)
    {
        if (until <= from) return from;
        // Catch-ups read and derive the source; a reconnect storm queues here instead of swamping the source's store.
        await catchUps.WaitAsync(cancellationToken).ConfigureAwait(false);
        // A slot is held only as long as the subscriber reads: one that stalls is cut off (its connection ends), not waited for.
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(options.CatchUpTimeout);
        try
        {
            var sent = 0;
            await foreach (var message in history.ReadAsync(channel, from, until, budget.Token).ConfigureAwait(false))
            {
                if (!Visible(message)) continue;
                await transport.SendAsync(message, budget.Token).ConfigureAwait(false);
                if (++sent % 100 == 0) await transport.FlushAsync(budget.Token).ConfigureAwait(false);
            }
            await transport.FlushAsync(budget.Token).ConfigureAwait(false);
            return until;
        }
        finally
        {
            catchUps.Release();
        }
    }

    /// <summary>Sends live messages until the client leaves or is cut off; answers the last position flushed to it.</summary>
    private async Task<long> FollowAsync(FeedSubscriber subscriber, long cursor, IFeedTransport transport, CancellationToken cancellationToken)
    {
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, subscriber.CutOff);
        var flushed = cursor;
        try
        {
            while (await subscriber.Messages.WaitToReadAsync(sending.Token).ConfigureAwait(false))
            {
                // Everything already queued goes out with one flush.
                while (subscriber.Messages.TryRead(out var message))
                {
                    if (message.Type == FeedMessageType.Change && (message.Position <= cursor || !Visible(message))) continue;
                    await transport.SendAsync(message, sending.Token).ConfigureAwait(false);
                    if (message.MovesCursor) cursor = message.Position;
                }
                await transport.FlushAsync(sending.Token).ConfigureAwait(false);
                flushed = cursor;
                subscriber.Sent();
            }
        }
        catch (OperationCanceledException) when (subscriber.IsCutOff && !cancellationToken.IsCancellationRequested)
        {
            // Cut off while waiting or writing: what was flushed is what the client holds.
        }
        return flushed;
    }

    private static async Task SayCutOffAsync(FeedSubscriber subscriber, long delivered, IFeedTransport transport, CancellationToken cancellationToken)
    {
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        grace.CancelAfter(CutOffGrace);
        var reason = "the connection read too slowly and its buffer filled up; reconnect from your last position to resume";
        await transport.SendAsync(FeedMessage.CutOff(subscriber.Channel, delivered, reason), grace.Token).ConfigureAwait(false);
        await transport.FlushAsync(grace.Token).ConfigureAwait(false);
    }
}

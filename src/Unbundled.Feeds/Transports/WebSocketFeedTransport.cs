using System.Net.WebSockets;

namespace Unbundled.Feeds.Transports;

/// <summary>A feed over a WebSocket: each message one text frame holding its JSON.</summary>
public sealed class WebSocketFeedTransport(WebSocket socket) : IFeedTransport
{
    /// <inheritdoc />
    public async ValueTask SendAsync(FeedMessage message, CancellationToken cancellationToken) =>
        await socket.SendAsync(message.Json, WebSocketMessageType.Text, endOfMessage: true, cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>Every frame is sent as it is queued.</remarks>
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

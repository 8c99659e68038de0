using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Unbundled.Feeds.Transports;

/// <summary>A feed over Server-Sent Events: each message an event named by its type, with the log position as its id.</summary>
public sealed class SseFeedTransport(PipeWriter body) : IFeedTransport
{
    /// <summary>Makes <paramref name="response"/> an event stream and sends its headers at once, so the client knows it is subscribed.</summary>
    public static async Task<SseFeedTransport> StartAsync(HttpResponse response, TimeSpan reconnectDelay, CancellationToken cancellationToken)
    {
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        // Reverse proxies such as nginx would otherwise hold events back in their buffers.
        response.Headers["X-Accel-Buffering"] = "no";
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var transport = new SseFeedTransport(response.BodyWriter);
        transport.Write($"retry: {(long)reconnectDelay.TotalMilliseconds}\n\n");
        await transport.FlushAsync(cancellationToken).ConfigureAwait(false);
        return transport;
    }

    /// <inheritdoc />
    public ValueTask SendAsync(FeedMessage message, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (message.Type == FeedMessageType.Heartbeat)
        {
            body.Write(": heartbeat\n\n"u8);
            return ValueTask.CompletedTask;
        }
        if (message.MovesCursor)
        {
            body.Write("id: "u8);
            Utf8Formatter.TryFormat(message.Position, body.GetSpan(20), out var written);
            body.Advance(written);
            body.Write("\n"u8);
        }
        Write($"event: {message.EventName}\n");
        body.Write("data: "u8);
        body.Write(message.Json.Span);
        body.Write("\n\n"u8);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken) =>
        await body.FlushAsync(cancellationToken).ConfigureAwait(false);

    private void Write(string text) => body.Write(Encoding.UTF8.GetBytes(text));
}

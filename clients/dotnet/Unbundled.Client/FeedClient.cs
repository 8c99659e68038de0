using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Client;

/// <summary>How a <see cref="FeedClient"/> talks to the server.</summary>
public enum FeedTransport
{
    /// <summary>Server-Sent Events over a long GET.</summary>
    ServerSentEvents,

    /// <summary>A WebSocket.</summary>
    WebSocket,
}

/// <summary>
/// Follows a channel of a push feed and never misses a change: when the connection drops or the
/// server cuts it off, it reconnects (to the next of its servers, if it has several) with the last
/// position it saw and resumes there.
/// </summary>
public sealed class FeedClient(HttpClient http, IReadOnlyList<Uri> servers, FeedTransport transport = FeedTransport.ServerSentEvents)
{
    /// <summary>A client of one server, the base address of <paramref name="http"/>.</summary>
    public FeedClient(HttpClient http, FeedTransport transport = FeedTransport.ServerSentEvents)
        : this(http, [http.BaseAddress ?? throw new ArgumentException("the HttpClient needs a BaseAddress", nameof(http))], transport)
    {
    }

    /// <summary>How long to wait before reconnecting.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How many times in a row a connection may fail before following gives up.</summary>
    public int MaxFailures { get; init; } = 20;

    /// <summary>How many times the client reconnected.</summary>
    public int Reconnects { get; private set; }

    /// <summary>
    /// The messages of <paramref name="channel"/> after position <paramref name="after"/> (null: from
    /// now on): changes, <c>ready</c> after each catch-up and <c>must-refetch</c>; heartbeats and
    /// cut-offs are handled here.
    /// </summary>
    public async IAsyncEnumerable<FeedEvent> FollowAsync(string pipeline, string channel, long? after,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var cursor = after;
        var (failures, next) = (0, 0);
        while (true)
        {
            var server = servers[next++ % servers.Count];
            var events = transport == FeedTransport.WebSocket
                ? ReadWebSocketAsync(server, pipeline, channel, cursor, cancellationToken)
                : ReadServerSentEventsAsync(server, pipeline, channel, cursor, cancellationToken);
            await using var reading = events.GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                FeedEvent? message;
                try
                {
                    message = await reading.MoveNextAsync() ? reading.Current : null;
                }
                catch (Exception error) when (error is HttpRequestException or IOException or WebSocketException && !cancellationToken.IsCancellationRequested)
                {
                    if (++failures > MaxFailures) throw;
                    message = null;
                }
                if (message is null) break;
                failures = 0;
                if (message.Type != "cut-off" && message.Type != "heartbeat") cursor = message.Position;
                if (message.Type is "change" or "ready" or "must-refetch") yield return message;
            }
            cancellationToken.ThrowIfCancellationRequested();
            Reconnects++;
            await Task.Delay(ReconnectDelay, cancellationToken).ConfigureAwait(false);
        }
    }

    private async IAsyncEnumerable<FeedEvent> ReadServerSentEventsAsync(Uri server, string pipeline, string channel, long? after,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server, $"feeds/{Uri.EscapeDataString(pipeline)}?channel={Uri.EscapeDataString(channel)}"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (after is { } position) request.Headers.Add("Last-Event-ID", position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        await ThrowIfRefusedAsync(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        // An event the connection cut short is never yielded: the parser yields only events a blank line ended.
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Data.Length > 0) yield return FeedEvent.Parse(item.Data);
        }
    }

    private async IAsyncEnumerable<FeedEvent> ReadWebSocketAsync(Uri server, string pipeline, string channel, long? after,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        var address = new UriBuilder(new Uri(server, $"feeds/{Uri.EscapeDataString(pipeline)}")) { Scheme = server.Scheme == "https" ? "wss" : "ws" }.Uri;
        await socket.ConnectAsync(address, cancellationToken).ConfigureAwait(false);
        var subscribe = new JsonObject { ["type"] = "subscribe", ["channel"] = channel };
        if (after is { } position) subscribe["after"] = position;
        await socket.SendAsync(Encoding.UTF8.GetBytes(subscribe.ToJsonString()), WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);

        var buffer = new byte[64 * 1024];
        using var frame = new MemoryStream();
        while (socket.State == WebSocketState.Open)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (received.MessageType == WebSocketMessageType.Close) yield break;
            frame.Write(buffer, 0, received.Count);
            if (!received.EndOfMessage) continue;
            var json = Encoding.UTF8.GetString(frame.GetBuffer(), 0, (int)frame.Length);
            frame.SetLength(0);
            if (JsonNode.Parse(json) is JsonObject { } message && (string?)message["type"] == "error")
                throw new FeedRefusedException((int?)message["status"] ?? 400, (string?)message["detail"] ?? json);
            yield return FeedEvent.Parse(json);
        }
    }

    private static async Task ThrowIfRefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if ((int)response.StatusCode is >= 400 and < 500 && response.StatusCode != HttpStatusCode.RequestTimeout)
        {
            var detail = body.Length > 0 && JsonNode.Parse(body) is JsonObject problem ? (string?)problem["detail"] ?? body : body;
            throw new FeedRefusedException((int)response.StatusCode, detail);
        }
        throw new HttpRequestException($"the feed answered {(int)response.StatusCode}: {body}", null, response.StatusCode);
    }
}

using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Feeds.Transports;

namespace Unbundled.Feeds;

/// <summary>
/// <c>GET /feeds/{pipeline}</c>: Server-Sent Events, or a WebSocket when the request upgrades. The
/// protocol is in docs/feeds.md.
/// </summary>
public static class FeedEndpoints
{
    private static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The claim that names a caller's tenant; such a caller follows only documents its tenant owns.</summary>
    public const string TenantClaim = "tenant";

    /// <summary>Maps the push-feed endpoint (and enables WebSockets on the app when given one); answers the endpoint, to describe it further.</summary>
    public static RouteHandlerBuilder MapPushFeeds(this IEndpointRouteBuilder routes)
    {
        if (routes is IApplicationBuilder app) app.UseWebSockets();
        // Resolving the authoriser now makes the allow-all default announce itself at start, not at the first subscriber.
        routes.ServiceProvider.GetRequiredService<IFeedAuthorizer>();
        return routes.MapGet("/feeds/{pipeline}", SubscribeAsync);
    }

    private static async Task SubscribeAsync(string pipeline, HttpContext http, FeedCatalog catalog, FeedHub hub,
        IFeedAuthorizer authorizer, IHostApplicationLifetime lifetime, ILogger<FeedSession> logger)
    {
        // Long-lived streams end with the application, or shutting down would wait for every client.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        var cancellationToken = ending.Token;
        if (catalog.Find(pipeline) is not { } feed)
        {
            await FeedRefusal.UnknownFeed(pipeline).WriteAsync(http, cancellationToken);
            return;
        }
        if (http.WebSockets.IsWebSocketRequest)
        {
            await ServeWebSocketAsync(feed, http, hub, authorizer, logger, cancellationToken);
            return;
        }

        var query = http.Request.Query;
        var request = new FeedRequest(query["channel"], http.Request.Headers["Last-Event-ID"] is [{ Length: > 0 } lastEventId] ? lastEventId : query["after"],
            query["model"], query["version"]);
        var (subscription, refusal) = await AdmitAsync(feed, request, http, authorizer, cancellationToken);
        if (refusal is not null)
        {
            await refusal.WriteAsync(http, cancellationToken);
            return;
        }

        try
        {
            var transport = await SseFeedTransport.StartAsync(http.Response, TimeSpan.FromSeconds(1), cancellationToken);
            var session = new FeedSession(feed.Topic, feed.History, feed.Options, hub.CatchUps, subscription!.Tenant);
            if (!await session.RunAsync(subscription!.Channel, subscription.After, transport, cancellationToken))
                logger.LogInformation("A subscriber of {Pipeline}/{Channel} read too slowly and was cut off", feed.Pipeline, subscription.Channel);
        }
        catch (OperationCanceledException)
        {
            // The client left, the server is stopping, or a cut-off client would not even take the notice: end the connection.
            http.Abort();
        }
    }

    private static async Task ServeWebSocketAsync(Feed feed, HttpContext http, FeedHub hub, IFeedAuthorizer authorizer,
        ILogger<FeedSession> logger, CancellationToken cancellationToken)
    {
        using var socket = await http.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = feed.Options.Heartbeat });
        var (request, malformed) = await ReceiveSubscribeAsync(socket, cancellationToken);
        if (malformed is not null)
        {
            await malformed.CloseAsync(socket, WebSocketCloseStatus.InvalidMessageType, cancellationToken);
            return;
        }
        var (subscription, refusal) = await AdmitAsync(feed, request!, http, authorizer, cancellationToken);
        if (refusal is not null)
        {
            await refusal.CloseAsync(socket, WebSocketCloseStatus.PolicyViolation, cancellationToken);
            return;
        }

        // The client sends nothing more, but its close frame must be read for the socket to notice it.
        using var leaving = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var listening = DrainUntilClosedAsync(socket, leaving);
        try
        {
            var session = new FeedSession(feed.Topic, feed.History, feed.Options, hub.CatchUps, subscription!.Tenant);
            var kept = await session.RunAsync(subscription!.Channel, subscription.After, new WebSocketFeedTransport(socket), leaving.Token);
            if (!kept) logger.LogInformation("A WebSocket subscriber of {Pipeline}/{Channel} read too slowly and was cut off", feed.Pipeline, subscription.Channel);
            await socket.CloseOutputAsync(kept ? WebSocketCloseStatus.NormalClosure : WebSocketCloseStatus.PolicyViolation,
                kept ? "feed ended" : "cut off: resume from your last position", CancellationToken.None);
        }
        catch (Exception error) when (error is OperationCanceledException or WebSocketException)
        {
            socket.Abort();
        }
        await leaving.CancelAsync();
        await listening;
    }

    private static async Task<(FeedRequest? Request, FeedRefusal? Malformed)> ReceiveSubscribeAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        waiting.CancelAfter(SubscribeTimeout);
        var buffer = new byte[8192];
        var length = 0;
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(length), waiting.Token);
                if (received.MessageType == WebSocketMessageType.Close) return (null, FeedRefusal.BadRequest("the socket closed before subscribing"));
                length += received.Count;
                if (received.EndOfMessage) break;
                if (length == buffer.Length) return (null, FeedRefusal.BadRequest($"the subscribe message is longer than {buffer.Length} bytes"));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, FeedRefusal.BadRequest($"no subscribe message within {SubscribeTimeout.TotalSeconds:0} s"));
        }

        try
        {
            if (JsonNode.Parse(buffer.AsSpan(0, length)) is not JsonObject message || (string?)message["type"] != "subscribe")
                return (null, FeedRefusal.BadRequest("""the first message must be {"type":"subscribe","channel":…,"after":…}"""));
            return (new FeedRequest(Text(message["channel"]), Text(message["after"]), Text(message["model"]), Text(message["version"])), null);
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException)
        {
            return (null, FeedRefusal.BadRequest($"the subscribe message is not valid JSON: {error.Message}"));
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString()
        : node?.ToJsonString();

    private static async Task DrainUntilClosedAsync(WebSocket socket, CancellationTokenSource leaving)
    {
        var buffer = new byte[256];
        try
        {
            while (!leaving.IsCancellationRequested)
            {
                if ((await socket.ReceiveAsync(buffer, leaving.Token)).MessageType == WebSocketMessageType.Close) break;
            }
        }
        catch (Exception error) when (error is OperationCanceledException or WebSocketException)
        {
            // The session is over, or the connection broke; either way the session must stop.
        }
        await leaving.CancelAsync();
    }

    /// <summary>Checks a subscription request: the channel, where to start, and whether the caller may read it.</summary>
    private static async Task<(Subscription? Subscription, FeedRefusal? Refusal)> AdmitAsync(Feed feed, FeedRequest request, HttpContext http,
        IFeedAuthorizer authorizer, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.Channel)) return (null, FeedRefusal.BadRequest("name the channel to follow: channel=<channel>"));
        if (!feed.Channels.CanRender(request.Channel)) return (null, FeedRefusal.UnknownChannel(feed, request.Channel));

        // No position: from now on (the session takes the head, or the live position of a feed that cannot replay).
        long? after = null;
        if (request.Model is not null || request.Version is not null)
        {
            var (position, problem) = await PositionOfVersionAsync(feed, request, cancellationToken);
            if (problem is not null) return (null, problem);
            after = position;
        }
        else if (request.After is not null)
        {
            if (!long.TryParse(request.After, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var named))
                return (null, FeedRefusal.BadRequest($"'{request.After}' is not a log position (a whole number, 0 or more)"));
            after = named;
        }

        if (!await authorizer.CanSubscribeAsync(new FeedAuthorizationContext(http.User, http, feed.Pipeline, request.Channel), cancellationToken))
            return (null, FeedRefusal.Forbidden(feed.Pipeline, request.Channel));
        // A caller of a tenant sees only its tenant's changes, which needs a feed that says where documents name their owner.
        var tenant = http.User.FindFirst(TenantClaim)?.Value;
        if (tenant is not null && feed.Owner is null) return (null, FeedRefusal.Forbidden(feed.Pipeline, request.Channel));
        try
        {
            // Just after start the feed's worker may not run yet; a feed that never starts is an answer, not a hang.
            await feed.Topic.Started.WaitAsync(StartTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            return (null, FeedRefusal.Unavailable(feed.Pipeline, StartTimeout));
        }
        return (new Subscription(request.Channel, after, tenant), null);
    }

    /// <summary>A model version as a source offset: that of the change which made the version.</summary>
    private static async Task<(long Position, FeedRefusal? Problem)> PositionOfVersionAsync(Feed feed, FeedRequest request, CancellationToken cancellationToken)
    {
        var parts = request.Model?.Split('/', 2);
        if (parts is not [{ Length: > 0 } type, { Length: > 0 } id])
            return (0, FeedRefusal.BadRequest($"'{request.Model}' is not a model: use model=<type>/<id> with version=<version>"));
        if (!long.TryParse(request.Version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var version))
            return (0, FeedRefusal.BadRequest($"'{request.Version}' is not a model version (a whole number, 0 or more)"));
        return await feed.History.OffsetOfVersionAsync(type, id, version, cancellationToken) is { } offset
            ? (offset, null)
            : (0, FeedRefusal.BadRequest($"the model {type}/{id} has no version {version}"));
    }

    private sealed record FeedRequest(string? Channel, string? After, string? Model, string? Version);

    private sealed record Subscription(string Channel, long? After, string? Tenant);
}

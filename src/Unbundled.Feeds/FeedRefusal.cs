using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Feeds;

/// <summary>Why a subscription was refused: an RFC 7807 problem over HTTP, an error frame over a WebSocket.</summary>
internal sealed record FeedRefusal(int Status, string Type, string Title, string Detail)
{
    public static FeedRefusal BadRequest(string detail) =>
        new(StatusCodes.Status400BadRequest, "urn:unbundled:problem:feed-request", "The feed request is malformed", detail);

    public static FeedRefusal UnknownFeed(string pipeline) =>
        new(StatusCodes.Status404NotFound, "urn:unbundled:problem:unknown-feed", "No such feed", $"no push-feed pipeline is named '{pipeline}'");

    public static FeedRefusal UnknownChannel(Feed feed, string channel) =>
        new(StatusCodes.Status404NotFound, "urn:unbundled:problem:unknown-channel", "No such channel",
            $"'{channel}' cannot be a channel of {feed.Pipeline}, whose channels are named '{feed.Options.Channel}'");

    public static FeedRefusal Forbidden(string pipeline, string channel) =>
        new(StatusCodes.Status403Forbidden, "urn:unbundled:problem:feed-forbidden", "Not allowed to follow this channel",
            $"the feed authoriser refused channel '{channel}' of {pipeline} to this caller");

    public static FeedRefusal Unavailable(string pipeline, TimeSpan waited) =>
        new(StatusCodes.Status503ServiceUnavailable, "urn:unbundled:problem:feed-unavailable", "The feed is not running",
            $"the pipeline {pipeline} did not start its feed within {waited.TotalSeconds:0} s; GET /pipelines/{pipeline} says why");

    public Task WriteAsync(HttpContext http, CancellationToken cancellationToken) =>
        Results.Problem(Detail, statusCode: Status, title: Title, type: Type).ExecuteAsync(http);

    public async Task CloseAsync(WebSocket socket, WebSocketCloseStatus status, CancellationToken cancellationToken)
    {
        var frame = JsonSerializer.SerializeToUtf8Bytes(new { type = "error", status = Status, problem = Type, title = Title, detail = Detail });
        await socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        await socket.CloseOutputAsync(status, Title, cancellationToken);
    }
}

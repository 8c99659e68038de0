using System.Text.Json.Nodes;

namespace Unbundled.Client;

/// <summary>One message of a feed, as docs/feeds.md describes it.</summary>
/// <param name="Type"><c>change</c>, <c>ready</c>, <c>must-refetch</c> or <c>cut-off</c>.</param>
/// <param name="Channel">The channel.</param>
/// <param name="Position">The log position of the change, or the cursor a control message moves to.</param>
/// <param name="Key">The document's key (changes only).</param>
/// <param name="Version">The model version of the change (changes only).</param>
/// <param name="IsDelete">True when the change deletes the document.</param>
/// <param name="Document">The projected document; null for deletes and control messages.</param>
/// <param name="Reason">Why, for must-refetch and cut-off.</param>
public sealed record FeedEvent(string Type, string Channel, long Position, string? Key, long Version, bool IsDelete, JsonObject? Document, string? Reason)
{
    /// <summary>A change of a document of the channel.</summary>
    public bool IsChange => Type == "change";

    /// <summary>The catch-up is over; what follows is live.</summary>
    public bool IsReady => Type == "ready";

    /// <summary>The client must re-read its snapshot; the feed goes on after <see cref="Position"/>.</summary>
    public bool IsMustRefetch => Type == "must-refetch";

    /// <summary>Parses the JSON of one message.</summary>
    public static FeedEvent Parse(string json)
    {
        var message = JsonNode.Parse(json) as JsonObject ?? throw new FormatException($"a feed message must be a JSON object: {json}");
        return new FeedEvent(
            (string?)message["type"] ?? throw new FormatException($"a feed message needs a type: {json}"),
            (string?)message["channel"] ?? "",
            (long?)message["position"] ?? 0,
            (string?)message["key"],
            (long?)message["version"] ?? 0,
            (string?)message["op"] == "delete",
            message["document"] as JsonObject,
            (string?)message["reason"]);
    }
}

/// <summary>The server refused the subscription for good (a 4xx problem); retrying would not help.</summary>
public sealed class FeedRefusedException(int status, string detail) : Exception($"the server refused the feed subscription ({status}): {detail}")
{
    /// <summary>The HTTP status (or the WebSocket error's status).</summary>
    public int Status { get; } = status;
}

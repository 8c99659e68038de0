using System.Buffers;
using System.Text.Json;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Feeds;

/// <summary>What a feed sends: a change, or one of the control messages of docs/feeds.md.</summary>
public enum FeedMessageType
{
    /// <summary>A document of the channel was written or deleted.</summary>
    Change,

    /// <summary>The catch-up is over; live changes follow.</summary>
    Ready,

    /// <summary>The subscriber is too far behind (or ahead): it must re-read its snapshot; the feed goes on live.</summary>
    MustRefetch,

    /// <summary>The subscriber read too slowly and is disconnected; it resumes from its last position.</summary>
    CutOff,

    /// <summary>Nothing happened for a while; keeps idle connections open through proxies.</summary>
    Heartbeat,
}

/// <summary>
/// One message of a channel, serialised once to UTF-8 JSON however many subscribers and transports
/// it goes to (the SSE <c>data</c> line and the WebSocket frame are the same bytes).
/// </summary>
public sealed class FeedMessage
{
    private static readonly JsonWriterOptions Compact = new() { SkipValidation = true };

    private FeedMessage(FeedMessageType type, string channel, long position, ReadOnlyMemory<byte> json)
    {
        Type = type;
        Channel = channel;
        Position = position;
        Json = json;
    }

    /// <summary>The owner or tenant the change's document names in the pipeline's <c>owner</c> field, if declared.</summary>
    public string? Owner { get; private init; }

    /// <summary>The kind of message.</summary>
    public FeedMessageType Type { get; }

    /// <summary>The channel it belongs to (empty for heartbeats).</summary>
    public string Channel { get; }

    /// <summary>The log position it carries: the change's, or the cursor a control message moves the client to.</summary>
    public long Position { get; }

    /// <summary>The message as JSON, as sent.</summary>
    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>The SSE event name.</summary>
    public string EventName => Type switch
    {
        FeedMessageType.Change => "change",
        FeedMessageType.Ready => "ready",
        FeedMessageType.MustRefetch => "must-refetch",
        FeedMessageType.CutOff => "cut-off",
        _ => "heartbeat",
    };

    /// <summary>True when the message moves the client's cursor (SSE <c>id:</c>) to <see cref="Position"/>.</summary>
    public bool MovesCursor => Type is FeedMessageType.Change or FeedMessageType.Ready or FeedMessageType.MustRefetch;

    /// <summary>The one heartbeat every idle connection shares.</summary>
    public static FeedMessage Heartbeat { get; } = new(FeedMessageType.Heartbeat, "", 0, """{"type":"heartbeat"}"""u8.ToArray());

    /// <summary>A derived document written to, or deleted from, <paramref name="channel"/>; <paramref name="ownerField"/> names its owner.</summary>
    public static FeedMessage Change(string channel, SinkDocument document, string? ownerField) =>
        new(FeedMessageType.Change, channel, document.Position, Write(json =>
        {
            json.WriteString("type", "change");
            json.WriteString("channel", channel);
            json.WriteString("key", document.Key);
            json.WriteNumber("position", document.Position);
            json.WriteNumber("version", document.Version);
            json.WriteString("op", document.IsDelete ? "delete" : "upsert");
            json.WritePropertyName("document");
            if (document.IsDelete || document.Document is null) json.WriteNullValue();
            else document.Document.WriteTo(json);
        }))
        {
            Owner = ownerField is null ? null : DocumentFilter.OwnerOf(document.Document, ownerField),
        };

    /// <summary>The catch-up of <paramref name="channel"/> reached <paramref name="position"/>.</summary>
    public static FeedMessage Ready(string channel, long position) => Control(FeedMessageType.Ready, "ready", channel, position, null);

    /// <summary>The subscriber must re-read its snapshot; the feed continues after <paramref name="position"/>.</summary>
    public static FeedMessage MustRefetch(string channel, long position, string reason) =>
        Control(FeedMessageType.MustRefetch, "must-refetch", channel, position, reason);

    /// <summary>The subscriber is disconnected for reading too slowly; it holds everything up to <paramref name="position"/>.</summary>
    public static FeedMessage CutOff(string channel, long position, string reason) => Control(FeedMessageType.CutOff, "cut-off", channel, position, reason);

    private static FeedMessage Control(FeedMessageType type, string name, string channel, long position, string? reason) =>
        new(type, channel, position, Write(json =>
        {
            json.WriteString("type", name);
            json.WriteString("channel", channel);
            json.WriteNumber("position", position);
            if (reason is not null) json.WriteString("reason", reason);
        }));

    private static byte[] Write(Action<Utf8JsonWriter> properties)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, Compact))
        {
            json.WriteStartObject();
            properties(json);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

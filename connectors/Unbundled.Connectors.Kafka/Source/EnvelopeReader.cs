using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>What one Kafka message is to a pipeline: a change, nothing (a tombstone, a heartbeat), or unreadable with why.</summary>
/// <remarks>The change's <c>source.position</c> is 0: the source numbers a change when it hands it out.</remarks>
internal readonly record struct ReadMessage(ChangeEvent? Change, string? Problem)
{
    public static readonly ReadMessage Nothing = new(null, null);
}

/// <summary>
/// Reads Kafka messages as Debezium writes them (ours are the same envelope): JSON with or without
/// Kafka Connect's <c>{schema, payload}</c>, keys likewise; tombstones, heartbeats and transaction
/// metadata carry no change and are passed over; <c>outbox</c> turns a change of an outbox table into
/// the aggregate's event. A message is parsed once and read where it lies: only <c>before</c> and
/// <c>after</c> become trees, lazily (building the whole envelope as a tree was most of kafka-consume's CPU).
/// </summary>
internal sealed class EnvelopeReader(KafkaSourceOptions options, string sourceName)
{
    /// <summary>Reads one message.</summary>
    public ReadMessage Read(string topic, byte[]? key, byte[]? value, DateTimeOffset timestamp)
    {
        if (value is null || value.Length == 0) return ReadMessage.Nothing;
        JsonElement parsed;
        try { parsed = Parse(value); }
        catch (JsonException error) { return new(null, $"the value is not JSON: {error.Message}"); }
        // Under Kafka Connect's schema (often the larger part) the rows are copied out, so a change does not keep the whole message alive.
        var envelope = Payload(parsed, out var wrapped);
        if (envelope.ValueKind != JsonValueKind.Object)
            return envelope.ValueKind == JsonValueKind.Null ? ReadMessage.Nothing : new(null, "the value is not a JSON object");
        if (Field(envelope, "op") is not { } op)
        {
            // Debezium's heartbeats ({ts_ms}) and transaction metadata ({status: BEGIN|END, id, …}) tell of no row.
            if (topic.StartsWith("__debezium-heartbeat", StringComparison.Ordinal) || String(envelope, "status") is "BEGIN" or "END"
                || (envelope.GetPropertyCount() == 1 && Field(envelope, "ts_ms") is not null))
                return ReadMessage.Nothing;
            return new(null, "the value is no Debezium envelope: it has no 'op'");
        }
        var code = op.ValueKind == JsonValueKind.String ? op.GetString() : null;
        if (code is not ("c" or "u" or "d" or "r" or "t"))
            return new(null, $"the envelope's op '{Compact(op)}' is none of c, u, d, r, t");
        return options.Format == "outbox" ? Outbox(envelope, code, wrapped, timestamp) : Change(envelope, code, wrapped, KeyOf(key), timestamp);
    }

    /// <summary>The change <paramref name="envelope"/> tells of, whose op <paramref name="code"/> was read and checked.</summary>
    private ReadMessage Change(JsonElement envelope, string code, bool wrapped, string key, DateTimeOffset timestamp)
    {
        // One pass over each object: looking every field up by name scanned the source block a dozen times.
        JsonElement? before = null, after = null, sourceBlock = null;
        long? tsMs = null;
        foreach (var field in envelope.EnumerateObject())
        {
            var value = field.Value;
            if (field.NameEquals("before"u8)) before = value.ValueKind == JsonValueKind.Object ? value : null;
            else if (field.NameEquals("after"u8)) after = value.ValueKind == JsonValueKind.Object ? value : null;
            else if (field.NameEquals("source"u8)) sourceBlock = value.ValueKind == JsonValueKind.Object ? value : null;
            else if (field.NameEquals("ts_ms"u8)) tsMs = Long(value);
        }
        var source = SourceFields.Of(sourceBlock);
        var (version, problem) = EnvelopeVersion.Of(envelope, options.Version, source);
        if (problem is not null) return new(null, problem);
        var op = code switch { "c" => ChangeOp.Create, "u" => ChangeOp.Update, "d" => ChangeOp.Delete, "r" => ChangeOp.Read, _ => ChangeOp.Truncate };
        if (op is ChangeOp.Create or ChangeOp.Update or ChangeOp.Read && after is null) return new(null, $"a '{code}' envelope without 'after'");
        var change = new ChangeEvent
        {
            Key = key,
            Op = op,
            Before = before is { } old ? JsonObject.Create(wrapped ? old.Clone() : old) : null,
            After = after is { } row ? JsonObject.Create(wrapped ? row.Clone() : row) : null,
            HasUnavailableValues = after is { } fields && ChangeEvent.HoldsUnavailable(fields),
            Source = new ChangeSource
            {
                Connector = source.Connector ?? "kafka",
                Name = source.Name ?? sourceName,
                Db = source.Db,
                Schema = source.Schema,
                Table = source.Table ?? "",
                Position = 0,
                Version = version,
                TsMs = source.TsMs ?? timestamp.ToUnixTimeMilliseconds(),
                TxId = source.TxId,
                Lsn = source.Lsn is { } lsn ? Long(lsn) : null,
                Snapshot = source.Snapshot ?? "false",
            },
            TsMs = tsMs ?? timestamp.ToUnixTimeMilliseconds(),
        };
        if (op != ChangeOp.Truncate && key.Length == 0) return new(null, "the message has no key to address the row by");
        return new(change, null);
    }

    /// <summary>An outbox row's insert as the aggregate's event: table = aggregatetype, key = aggregateid, after = payload.</summary>
    private ReadMessage Outbox(JsonElement envelope, string code, bool wrapped, DateTimeOffset timestamp)
    {
        // The row is deleted right after it is written; only the insert (or its snapshot read) carries the event.
        if (code is not ("c" or "r")) return ReadMessage.Nothing;
        if (Object(envelope, "after") is not { } row) return new(null, "an outbox change without 'after'");
        if (String(row, "aggregatetype") is not { Length: > 0 } type || Text(Field(row, "aggregateid")) is not { Length: > 0 } id)
            return new(null, "the outbox row lacks 'aggregatetype' or 'aggregateid'");
        JsonObject? document;
        if (Field(row, "payload") is { ValueKind: JsonValueKind.String } text)
        {
            try { document = JsonNode.Parse(text.GetString()!) as JsonObject; }
            catch (JsonException error) { return new(null, $"the outbox payload is not JSON: {error.Message}"); }
        }
        else document = Object(row, "payload") is { } payload ? JsonObject.Create(wrapped ? payload.Clone() : payload) : null;
        if (document is null) return new(null, "the outbox payload is not a JSON object");
        var read = Change(envelope, code, wrapped, id, timestamp);
        return read.Change is { } change
            ? new(change with { Op = ChangeOp.Update, Before = null, After = document, Source = change.Source with { Table = type } }, null)
            : read;
    }

    /// <summary>
    /// The row's key as the other sources give it: a one-field key struct's value as text, several fields as
    /// a JSON array of their values (as the postgres source keys composite keys), a plain key as it is.
    /// </summary>
    public static string KeyOf(byte[]? key)
    {
        if (key is null || key.Length == 0) return "";
        JsonElement parsed;
        try { parsed = Parse(key); }
        catch (JsonException) { return Encoding.UTF8.GetString(key); }
        var payload = Payload(parsed, out _);
        switch (payload.ValueKind)
        {
            case JsonValueKind.Object when payload.GetPropertyCount() == 1:
                return Text(payload.EnumerateObject().First().Value) ?? "";
            case JsonValueKind.Object:
                return Json(writer =>
                {
                    writer.WriteStartArray();
                    foreach (var field in payload.EnumerateObject()) field.Value.WriteTo(writer);
                    writer.WriteEndArray();
                });
            default:
                return Text(payload) ?? "";
        }
    }

    // A repeated property would make the tree over it throw later, in the engine, rather than here as a dead letter.
    private static readonly JsonDocumentOptions Strict = new() { AllowDuplicateProperties = false };

    /// <summary>One JSON value, as a standalone element that outlives no pooled buffer (the trees over it are read later, elsewhere).</summary>
    private static JsonElement Parse(byte[] utf8) => JsonElement.Parse(utf8, Strict);

    /// <summary>A Kafka Connect <c>{schema, payload}</c> unwrapped (<paramref name="wrapped"/>); anything else as it is.</summary>
    private static JsonElement Payload(JsonElement element, out bool wrapped)
    {
        wrapped = element.ValueKind == JsonValueKind.Object && element.GetPropertyCount() == 2 && element.TryGetProperty("schema"u8, out _) && element.TryGetProperty("payload"u8, out _);
        return wrapped ? element.GetProperty("payload"u8) : element;
    }

    /// <summary>The field <paramref name="name"/> of an object, unless it is absent or null.</summary>
    internal static JsonElement? Field(JsonElement? parent, string name) =>
        parent is { ValueKind: JsonValueKind.Object } parentObject && parentObject.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined) ? value : null;

    private static JsonElement? Object(JsonElement? parent, string name) => Field(parent, name) is { ValueKind: JsonValueKind.Object } value ? value : null;

    private static string? String(JsonElement? parent, string name) => Field(parent, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    /// <summary>A whole number, or null for anything else.</summary>
    internal static long? Long(JsonElement value) => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    /// <summary>A scalar as text: a string's value, anything else as compact JSON.</summary>
    private static string? Text(JsonElement? value) => value switch
    {
        null or { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => null,
        { ValueKind: JsonValueKind.String } text => text.GetString(),
        { } other => Compact(other),
    };

    private static string Compact(JsonElement value) =>
        value.ValueKind is JsonValueKind.Object or JsonValueKind.Array ? Json(value.WriteTo) : value.GetRawText();

    /// <summary>What <paramref name="write"/> writes, as compact JSON text.</summary>
    private static string Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>What one Kafka message is to a pipeline: a change, nothing (a tombstone, a heartbeat), or unreadable with why.</summary>
internal readonly record struct ReadMessage(ChangeEvent? Change, string? Problem)
{
    public static readonly ReadMessage Nothing = new(null, null);
}

/// <summary>
/// Reads Kafka messages as Debezium writes them (ours are the same envelope): JSON with or without
/// Kafka Connect's <c>{schema, payload}</c>, keys likewise; tombstones, heartbeats and transaction
/// metadata carry no change and are passed over; <c>outbox</c> turns a change of an outbox table into
/// the aggregate's event.
/// </summary>
internal sealed class EnvelopeReader(KafkaSourceOptions options, string sourceName)
{
    /// <summary>Reads one message; <paramref name="position"/> becomes the change's position.</summary>
    public ReadMessage Read(string topic, byte[]? key, byte[]? value, long position, DateTimeOffset timestamp)
    {
        if (value is null || value.Length == 0) return ReadMessage.Nothing;
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(value); }
        catch (JsonException error) { return new(null, $"the value is not JSON: {error.Message}"); }
        if (Payload(parsed) is not JsonObject envelope) return parsed is null || Payload(parsed) is null ? ReadMessage.Nothing : new(null, "the value is not a JSON object");
        if (envelope["op"] is null)
        {
            // Debezium's heartbeats ({ts_ms}) and transaction metadata ({status: BEGIN|END, id, …}) tell of no row.
            if (topic.StartsWith("__debezium-heartbeat", StringComparison.Ordinal) || (string?)envelope["status"] is "BEGIN" or "END" || envelope.Count == 1 && envelope["ts_ms"] is not null)
                return ReadMessage.Nothing;
            return new(null, "the value is no Debezium envelope: it has no 'op'");
        }
        if ((string?)envelope["op"] is not ("c" or "u" or "d" or "r" or "t") ) return new(null, $"the envelope's op '{envelope["op"]?.ToJsonString()}' is none of c, u, d, r, t");
        return options.Format == "outbox" ? Outbox(envelope, position, timestamp) : Change(envelope, KeyOf(key), position, timestamp);
    }

    private ReadMessage Change(JsonObject envelope, string key, long position, DateTimeOffset timestamp)
    {
        var (version, problem) = EnvelopeVersion.Of(envelope, options.Version);
        if (problem is not null) return new(null, problem);
        var op = (string)envelope["op"]! switch { "c" => ChangeOp.Create, "u" => ChangeOp.Update, "d" => ChangeOp.Delete, "r" => ChangeOp.Read, _ => ChangeOp.Truncate };
        var after = envelope["after"] as JsonObject;
        if (op is ChangeOp.Create or ChangeOp.Update or ChangeOp.Read && after is null) return new(null, $"a '{envelope["op"]}' envelope without 'after'");
        var source = envelope["source"] as JsonObject;
        var change = new ChangeEvent
        {
            Key = key,
            Op = op,
            Before = (envelope["before"] as JsonObject)?.DeepClone(),
            After = after?.DeepClone(),
            // A walk of the tree, not a serialization of it per event: the same rule the engine fills by.
            HasUnavailableValues = after is not null && ChangeEvent.HoldsUnavailable(after),
            Source = new ChangeSource
            {
                Connector = (string?)source?["connector"] ?? "kafka",
                Name = (string?)source?["name"] ?? sourceName,
                Db = (string?)source?["db"],
                Schema = (string?)source?["schema"],
                Table = (string?)source?["table"] ?? (string?)source?["collection"] ?? "",
                Position = position,
                Version = version,
                TsMs = Long(source?["ts_ms"]) ?? timestamp.ToUnixTimeMilliseconds(),
                TxId = Long(source?["txId"]),
                Lsn = Long(source?["lsn"]),
                Snapshot = source?["snapshot"] is JsonValue snapshot ? snapshot.GetValueKind() == JsonValueKind.String ? (string)snapshot! : snapshot.ToJsonString() : "false",
            },
            TsMs = Long(envelope["ts_ms"]) ?? timestamp.ToUnixTimeMilliseconds(),
        };
        if (op != ChangeOp.Truncate && key.Length == 0) return new(null, "the message has no key to address the row by");
        return new(change, null);
    }

    /// <summary>An outbox row's insert as the aggregate's event: table = aggregatetype, key = aggregateid, after = payload.</summary>
    private ReadMessage Outbox(JsonObject envelope, long position, DateTimeOffset timestamp)
    {
        // The row is deleted right after it is written; only the insert (or its snapshot read) carries the event.
        if ((string?)envelope["op"] is not ("c" or "r")) return ReadMessage.Nothing;
        if (envelope["after"] is not JsonObject row) return new(null, "an outbox change without 'after'");
        if ((string?)row["aggregatetype"] is not { Length: > 0 } type || Text(row["aggregateid"]) is not { Length: > 0 } id)
            return new(null, "the outbox row lacks 'aggregatetype' or 'aggregateid'");
        JsonNode? payload = row["payload"];
        if (payload is JsonValue text && text.TryGetValue<string>(out var json))
        {
            try { payload = JsonNode.Parse(json); }
            catch (JsonException error) { return new(null, $"the outbox payload is not JSON: {error.Message}"); }
        }
        if (payload is not JsonObject document) return new(null, "the outbox payload is not a JSON object");
        var read = Change(envelope, id, position, timestamp);
        return read.Change is { } change
            ? new(change with { Op = ChangeOp.Update, Before = null, After = document.DeepClone(), Source = change.Source with { Table = type } }, null)
            : read;
    }

    /// <summary>A Kafka Connect <c>{schema, payload}</c> unwrapped; anything else as it is.</summary>
    private static JsonNode? Payload(JsonNode? node) =>
        node is JsonObject { Count: 2 } wrapped && wrapped.ContainsKey("schema") && wrapped.ContainsKey("payload") ? wrapped["payload"] : node;

    /// <summary>
    /// The row's key as the other sources give it: a one-field key struct's value as text, several fields as
    /// a JSON array of their values (as the postgres source keys composite keys), a plain key as it is.
    /// </summary>
    public static string KeyOf(byte[]? key)
    {
        if (key is null || key.Length == 0) return "";
        JsonNode? parsed;
        try { parsed = JsonNode.Parse(key); }
        catch (JsonException) { return Encoding.UTF8.GetString(key); }
        return Payload(parsed) switch
        {
            JsonObject { Count: 1 } single => Text(single.First().Value) ?? "",
            JsonObject fields => new JsonArray(fields.Select(f => f.Value?.DeepClone()).ToArray()).ToJsonString(),
            JsonValue value => Text(value) ?? "",
            null => "",
            var other => other.ToJsonString(),
        };
    }

    private static string? Text(JsonNode? node) => node switch
    {
        JsonValue value when value.TryGetValue<string>(out var text) => text,
        JsonValue value => value.ToJsonString(),
        null => null,
        var other => other.ToJsonString(),
    };

    private static long? Long(JsonNode? node) => node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<long>(out var number) ? number
        : node is JsonValue element && element.TryGetValue<JsonElement>(out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var n) ? n : null;
}

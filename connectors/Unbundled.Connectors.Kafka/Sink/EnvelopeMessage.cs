using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>
/// Turns a view's writes into Kafka messages: key <c>{"id": key}</c> and a Debezium envelope as value,
/// each wrapped in Kafka Connect's <c>{schema, payload}</c> when asked.
/// </summary>
internal sealed class EnvelopeMessage(KafkaSinkOptions options, string pipeline)
{
    private static readonly JsonSerializerOptions Json = new();

    /// <summary>The topic <paramref name="document"/> goes to.</summary>
    public string TopicOf(SinkDocument document) =>
        options.Topic ?? $"{options.TopicPrefix}.{TopicName.Sanitize(document.Change?.Source.Table ?? pipeline)}";

    /// <summary>The message key of <paramref name="key"/> for <paramref name="topic"/>.</summary>
    public byte[] Key(string topic, string key)
    {
        var payload = new JsonObject { ["id"] = key };
        return JsonSerializer.SerializeToUtf8Bytes(options.Schemas ? new JsonObject { ["schema"] = ConnectSchema.Key(topic), ["payload"] = payload } : payload, Json);
    }

    /// <summary>The message value of <paramref name="document"/>: the change it came from, or the document as <c>after</c>.</summary>
    public byte[] Value(string topic, SinkDocument document)
    {
        var change = document.Change;
        var source = change is null
            ? new JsonObject { ["connector"] = "unbundled", ["name"] = pipeline, ["table"] = pipeline, ["position"] = document.Position, ["version"] = document.Version, ["snapshot"] = "false" }
            : JsonSerializer.SerializeToNode(change.Source, Json)!.AsObject();
        JsonNode? before, after;
        string op;
        if (options.Value == "change" && change is not null)
            (before, after, op) = (change.Before?.DeepClone(), change.After?.DeepClone(), Code(change.Op));
        else
            (before, after, op) = (null, document.IsDelete ? null : document.Document?.DeepClone(), document.IsDelete ? "d" : change is null ? "u" : Code(change.Op));
        var envelope = new JsonObject
        {
            ["before"] = before,
            ["after"] = after,
            ["source"] = source,
            ["op"] = op,
            ["ts_ms"] = change?.TsMs ?? DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
        };
        if (!options.Schemas) return JsonSerializer.SerializeToUtf8Bytes(envelope, Json);
        var schema = ConnectSchema.Envelope(topic, source, before, after);
        return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["schema"] = schema, ["payload"] = envelope }, Json);
    }

    private static string Code(ChangeOp op) => op switch
    {
        ChangeOp.Create => "c",
        ChangeOp.Update => "u",
        ChangeOp.Delete => "d",
        ChangeOp.Read => "r",
        _ => "t",
    };
}

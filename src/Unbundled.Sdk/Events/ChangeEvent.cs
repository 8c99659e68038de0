using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Unbundled.Sdk.Events;

/// <summary>
/// One change to one model, in the Debezium envelope (<c>op</c>, <c>before</c>, <c>after</c>,
/// <c>source</c>, <c>ts_ms</c>), so pipelines consume our log and real Debezium topics alike.
/// </summary>
public sealed record ChangeEvent
{
    /// <summary>The model's id: the event key, carried as the Kafka message key on the wire rather than in the envelope.</summary>
    [JsonIgnore]
    public string Key { get; init; } = "";

    /// <summary><c>c</c> create, <c>u</c> update, <c>d</c> delete, <c>r</c> read (a snapshot row).</summary>
    [JsonPropertyName("op")]
    public required ChangeOp Op { get; init; }

    private JsonNode? _before;
    private JsonNode? _after;
    private Lazy<JsonNode?>? _beforeOnRead;
    private Lazy<JsonNode?>? _afterOnRead;

    /// <summary>The model's document before the change; null for creates and snapshot reads.</summary>
    [JsonPropertyName("before")]
    public JsonNode? Before { get => _beforeOnRead is { } deferred ? deferred.Value : _before; init => (_before, _beforeOnRead) = (value, null); }

    /// <summary>The model's document after the change; null for deletes.</summary>
    [JsonPropertyName("after")]
    public JsonNode? After { get => _afterOnRead is { } deferred ? deferred.Value : _after; init => (_after, _afterOnRead) = (value, null); }

    /// <summary>
    /// The one item of an array of the model that the change wrote in or below, when the source knows it (the
    /// command log): a projection deriving per item of that array needs only this, not the whole model.
    /// </summary>
    [JsonIgnore]
    public ItemChange? Item { get; init; }

    /// <summary>
    /// This event with <see cref="Before"/> and <see cref="After"/> computed when first read, once each, and then
    /// kept: a source whose copy of a model costs the model's size copies it only for a consumer that reads it.
    /// </summary>
    public ChangeEvent WithStatesOnRead(Func<JsonNode?> before, Func<JsonNode?> after) =>
        new(this) { _beforeOnRead = new Lazy<JsonNode?>(before), _afterOnRead = new Lazy<JsonNode?>(after) };

    /// <summary>Where the change came from.</summary>
    [JsonPropertyName("source")]
    public required ChangeSource Source { get; init; }

    /// <summary>When the pipeline engine built the event, in Unix milliseconds.</summary>
    [JsonPropertyName("ts_ms")]
    public long TsMs { get; init; }

    /// <summary>The W3C <c>traceparent</c> of the write that made the change, when the source knows it; pipelines continue that trace.</summary>
    [JsonIgnore]
    public string? TraceParent { get; init; }

    /// <summary>
    /// Debezium's stand-in for a column value the origin did not send (an unchanged TOASTed column under
    /// REPLICA IDENTITY DEFAULT): it must never overwrite the value a view holds.
    /// </summary>
    public const string UnavailableValue = "__debezium_unavailable_value";

    // Binary columns carry the placeholder's bytes, base64-encoded as Debezium encodes bytes by default.
    private static readonly string UnavailableBytes = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(UnavailableValue));

    // Compared as UTF-8: a string would be transcoded at every comparison.
    private static readonly byte[] UnavailableUtf8 = System.Text.Encoding.UTF8.GetBytes(UnavailableValue), UnavailableBytesUtf8 = System.Text.Encoding.UTF8.GetBytes(UnavailableBytes);

    /// <summary>True when <paramref name="value"/> is Debezium's placeholder: as text, as base64 bytes, or as an array's one element.</summary>
    public static bool IsUnavailable(JsonNode? value) => value switch
    {
        JsonValue scalar => scalar.TryGetValue<string>(out var text) && (text == UnavailableValue || text == UnavailableBytes),
        JsonArray { Count: 1 } array => IsUnavailable(array[0]),
        _ => false,
    };

    /// <summary>True when a field of <paramref name="document"/>, at any depth of nested objects, is the placeholder.</summary>
    public static bool HoldsUnavailable(JsonObject document) =>
        document.Any(field => IsUnavailable(field.Value) || (field.Value is JsonObject nested && HoldsUnavailable(nested)));

    /// <summary>The same rule over parsed JSON, for readers that have not built a tree (an object's fields are only walked).</summary>
    public static bool HoldsUnavailable(JsonElement document)
    {
        foreach (var field in document.EnumerateObject())
        {
            if (IsUnavailable(field.Value) || (field.Value.ValueKind == JsonValueKind.Object && HoldsUnavailable(field.Value))) return true;
        }
        return false;
    }

    private static bool IsUnavailable(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.ValueEquals(UnavailableUtf8) || value.ValueEquals(UnavailableBytesUtf8),
        JsonValueKind.Array => value.GetArrayLength() == 1 && IsUnavailable(value[0]),
        _ => false,
    };

    /// <summary>
    /// True when <see cref="After"/> holds <see cref="UnavailableValue"/> somewhere: the engine fills each
    /// such field of the derived documents from what the view holds rather than writing the stand-in.
    /// </summary>
    [JsonIgnore]
    public bool HasUnavailableValues { get; init; }
}

/// <summary>
/// One item of an array of a model, changed: the model with, in <paramref name="Field"/>, only that item as it was
/// (<paramref name="Before"/>; an empty array when the change created it) and as it is (<paramref name="After"/>;
/// empty when the change deleted it). Everything outside the array is as in the whole model.
/// </summary>
public sealed record ItemChange(string Field, JsonObject Before, JsonObject After);

/// <summary>The Debezium <c>op</c> codes.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ChangeOp>))]
public enum ChangeOp
{
    /// <summary>A model came into being.</summary>
    [JsonStringEnumMemberName("c")] Create,

    /// <summary>A model's document changed.</summary>
    [JsonStringEnumMemberName("u")] Update,

    /// <summary>A model was deleted.</summary>
    [JsonStringEnumMemberName("d")] Delete,

    /// <summary>A model's state read from a snapshot rather than from a change.</summary>
    [JsonStringEnumMemberName("r")] Read,

    /// <summary>Every row of <see cref="ChangeSource.Table"/> was removed at once (SQL TRUNCATE); the event has no key, before or after.</summary>
    [JsonStringEnumMemberName("t")] Truncate,
}

/// <summary>
/// The Debezium <c>source</c> block. Our own fields (<c>position</c>, <c>version</c>) stand beside the
/// ones Debezium tools know (<c>connector</c>, <c>name</c>, <c>table</c>, <c>ts_ms</c>, <c>snapshot</c>).
/// </summary>
public sealed record ChangeSource
{
    /// <summary>The connector that produced the event (<c>unbundled</c> for our log).</summary>
    [JsonPropertyName("connector")]
    public string Connector { get; init; } = "unbundled";

    /// <summary>The logical name of the source (the server or topic prefix).</summary>
    [JsonPropertyName("name")]
    public string Name { get; init; } = "unbundled";

    /// <summary>The database the change was captured from (Debezium's <c>db</c>); absent for our log.</summary>
    [JsonPropertyName("db")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Db { get; init; }

    /// <summary>The schema of the changed table (Debezium's <c>schema</c>); absent for our log.</summary>
    [JsonPropertyName("schema")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Schema { get; init; }

    /// <summary>The model type (Debezium's table).</summary>
    [JsonPropertyName("table")]
    public required string Table { get; init; }

    /// <summary>The log position: a total order over all events of the source.</summary>
    [JsonPropertyName("position")]
    public required long Position { get; init; }

    /// <summary>The model's version after the change: the version that guards every derived write.</summary>
    [JsonPropertyName("version")]
    public required long Version { get; init; }

    /// <summary>When the change was committed, in Unix milliseconds.</summary>
    [JsonPropertyName("ts_ms")]
    public long TsMs { get; init; }

    /// <summary>The id of the transaction that made the change (Debezium's <c>txId</c>), when the origin has one.</summary>
    [JsonPropertyName("txId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? TxId { get; init; }

    /// <summary>The log sequence number of the change's commit at the origin (Debezium's <c>lsn</c>), when it has one.</summary>
    [JsonPropertyName("lsn")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Lsn { get; init; }

    /// <summary><c>true</c>/<c>last</c> while a snapshot is read, <c>false</c> otherwise (Debezium's convention).</summary>
    [JsonPropertyName("snapshot")]
    public string Snapshot { get; init; } = "false";
}

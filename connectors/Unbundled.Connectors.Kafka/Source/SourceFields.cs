using System.Text.Json;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>The fields of a Debezium <c>source</c> block a change needs, read in one pass over it (null when absent or not of their type).</summary>
internal readonly record struct SourceFields(string? Connector, string? Name, string? Db, string? Schema, string? Table, long? TsMs, long? TxId, string? Snapshot,
    JsonElement? Version, JsonElement? Lsn, string? File, JsonElement? Pos, JsonElement? Row)
{
    /// <summary>The fields of <paramref name="source"/>, an object or nothing.</summary>
    public static SourceFields Of(JsonElement? source)
    {
        if (source is not { } block) return default;
        string? connector = null, name = null, db = null, schema = null, table = null, collection = null, snapshot = null, file = null;
        long? tsMs = null, txId = null;
        JsonElement? version = null, lsn = null, pos = null, row = null;
        foreach (var field in block.EnumerateObject())
        {
            var value = field.Value;
            if (field.NameEquals("connector"u8)) connector = Text(value);
            else if (field.NameEquals("name"u8)) name = Text(value);
            else if (field.NameEquals("db"u8)) db = Text(value);
            else if (field.NameEquals("schema"u8)) schema = Text(value);
            else if (field.NameEquals("table"u8)) table = Text(value);
            else if (field.NameEquals("collection"u8)) collection = Text(value);
            else if (field.NameEquals("ts_ms"u8)) tsMs = EnvelopeReader.Long(value);
            else if (field.NameEquals("txId"u8)) txId = EnvelopeReader.Long(value);
            else if (field.NameEquals("lsn"u8)) lsn = value;
            else if (field.NameEquals("version"u8)) version = value;
            else if (field.NameEquals("file"u8)) file = Text(value);
            else if (field.NameEquals("pos"u8)) pos = value;
            else if (field.NameEquals("row"u8)) row = value;
            // A string as it is, true/false or a number as written; null or a structure says nothing.
            else if (field.NameEquals("snapshot"u8))
                snapshot = value.ValueKind switch { JsonValueKind.String => value.GetString(), JsonValueKind.True or JsonValueKind.False or JsonValueKind.Number => value.GetRawText(), _ => null };
        }
        return new SourceFields(connector, name, db, schema, table ?? collection, tsMs, txId, snapshot, version, lsn, file, pos, row);
    }

    private static string? Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}

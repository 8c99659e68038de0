using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>
/// Kafka Connect's JSON schema for what the sink writes with <c>schemas: true</c>: the Debezium envelope's
/// fixed parts, and for <c>before</c>/<c>after</c> a struct inferred from the documents (they carry no
/// schema of their own), every field optional as a schemaless model's fields are.
/// </summary>
internal static class ConnectSchema
{
    /// <summary>The schema of a key <c>{"id": …}</c>.</summary>
    public static JsonObject Key(string name) => new()
    {
        ["type"] = "struct",
        ["fields"] = new JsonArray(new JsonObject { ["type"] = "string", ["optional"] = false, ["field"] = "id" }),
        ["optional"] = false,
        ["name"] = $"{name}.Key",
    };

    /// <summary>The schema of an envelope whose documents are <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static JsonObject Envelope(string name, JsonObject source, JsonNode? before, JsonNode? after)
    {
        var value = Struct([before as JsonObject, after as JsonObject], $"{name}.Value", optional: true);
        return new JsonObject
        {
            ["type"] = "struct",
            ["fields"] = new JsonArray(
                Field(value.DeepClone().AsObject(), "before"),
                Field(value, "after"),
                Field(Struct([source], "io.unbundled.Source", optional: false), "source"),
                Field(new JsonObject { ["type"] = "string", ["optional"] = false }, "op"),
                Field(new JsonObject { ["type"] = "int64", ["optional"] = true }, "ts_ms")),
            ["optional"] = false,
            ["name"] = $"{name}.Envelope",
        };
    }

    private static JsonObject Field(JsonObject schema, string name)
    {
        schema["field"] = name;
        return schema;
    }

    /// <summary>A struct with the union of the fields of <paramref name="samples"/>, in first-seen order.</summary>
    private static JsonObject Struct(IEnumerable<JsonObject?> samples, string? name, bool optional)
    {
        var fields = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var sample in samples)
        {
            if (sample is null) continue;
            foreach (var (field, value) in sample)
            {
                if (!fields.TryGetValue(field, out var known) || known is null) fields[field] = value;
            }
        }
        var schema = new JsonObject
        {
            ["type"] = "struct",
            ["fields"] = new JsonArray(fields.Select(f => (JsonNode)Field(Of(f.Value), f.Key)).ToArray()),
            ["optional"] = optional,
        };
        if (name is not null) schema["name"] = name;
        return schema;
    }

    /// <summary>The schema of one value, optional as every field of a document is.</summary>
    private static JsonObject Of(JsonNode? value) => value switch
    {
        JsonObject nested => Struct([nested], null, optional: true),
        JsonArray array => new JsonObject { ["type"] = "array", ["items"] = Of(array.FirstOrDefault(i => i is not null)), ["optional"] = true },
        JsonValue scalar => scalar.GetValueKind() switch
        {
            JsonValueKind.True or JsonValueKind.False => Scalar("boolean"),
            JsonValueKind.Number => scalar.TryGetValue<long>(out _) || (scalar.TryGetValue<JsonElement>(out var element) && element.TryGetInt64(out _)) ? Scalar("int64") : Scalar("double"),
            _ => Scalar("string"),
        },
        _ => Scalar("string"),
    };

    private static JsonObject Scalar(string type) => new() { ["type"] = type, ["optional"] = true };
}

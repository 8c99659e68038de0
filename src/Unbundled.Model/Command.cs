using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Unbundled.Model;

/// <summary>What a command does at its path.</summary>
[JsonConverter(typeof(CommandOpConverter))]
public enum CommandOp
{
    /// <summary>Adds a value where none is (an object member, an array slot, or the whole document).</summary>
    [JsonStringEnumMemberName("create")] Create,

    /// <summary>Replaces the value that is there.</summary>
    [JsonStringEnumMemberName("update")] Update,

    /// <summary>Removes the value that is there; at the root it deletes the model.</summary>
    [JsonStringEnumMemberName("delete")] Delete,

    /// <summary>Takes the value at <see cref="Command.From"/> out and creates it at the path (reordering an array by identity).</summary>
    [JsonStringEnumMemberName("move")] Move,
}

/// <summary>
/// Reads exactly the documented op names (<c>create</c>, <c>update</c>, <c>delete</c>, <c>move</c>): the enum converter
/// of System.Text.Json would also take <c>"CREATE"</c> or <c>0</c>, which the documentation never promised.
/// </summary>
public sealed class CommandOpConverter : JsonConverter<CommandOp>
{
    /// <inheritdoc />
    public override CommandOp Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        if (reader.TokenType == System.Text.Json.JsonTokenType.String)
        {
            if (reader.ValueTextEquals("create"u8)) return CommandOp.Create;
            if (reader.ValueTextEquals("update"u8)) return CommandOp.Update;
            if (reader.ValueTextEquals("delete"u8)) return CommandOp.Delete;
            if (reader.ValueTextEquals("move"u8)) return CommandOp.Move;
        }
        throw new System.Text.Json.JsonException("'op' must be one of \"create\", \"update\", \"delete\", \"move\"");
    }

    /// <inheritdoc />
    public override void Write(System.Text.Json.Utf8JsonWriter writer, CommandOp value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.WireName());
}

/// <summary>The documented names of the ops.</summary>
public static class CommandOpNames
{
    /// <summary>The op as clients write it: <c>create</c>, <c>update</c>, <c>delete</c> or <c>move</c>.</summary>
    public static string WireName(this CommandOp op) => op switch
    {
        CommandOp.Create => "create",
        CommandOp.Update => "update",
        CommandOp.Move => "move",
        _ => "delete",
    };
}

/// <summary>
/// One change to a model's document: an operation at a JSON Pointer path (RFC 6901, with <c>-</c>
/// for "after the last array item" and <c>[id=abc]</c> for "the array item whose id is abc", see
/// <see cref="ItemKey"/>), an optional value, and metadata that interceptors attach
/// (the caller's identity, server timestamps).
/// </summary>
public sealed record Command
{
    /// <summary>The operation.</summary>
    [JsonPropertyName("op")]
    public required CommandOp Op { get; init; }

    /// <summary>Where in the document, as a JSON Pointer; the empty string is the whole document.</summary>
    [JsonPropertyName("path")]
    public required string Path { get; init; }

    /// <summary>For <c>move</c>: where the value is taken from, as a JSON Pointer.</summary>
    [JsonPropertyName("from")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? From { get; init; }

    /// <summary>The value to create or update with; absent for deletes.</summary>
    [JsonPropertyName("value")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonNode? Value { get; init; }

    /// <summary>Facts the master attached, such as who issued the command.</summary>
    [JsonPropertyName("meta")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Meta { get; init; }

    /// <summary>This command with one more metadata entry.</summary>
    public Command WithMeta(string name, string value)
    {
        var meta = Meta is null ? new Dictionary<string, string>() : new Dictionary<string, string>(Meta);
        meta[name] = value;
        return this with { Meta = meta };
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using Unbundled.Model;

namespace Unbundled.Log;

/// <summary>The one JSON form of a command, used by every log store and on the wire.</summary>
public static class CommandJson
{
    /// <summary>Serialises a command to UTF-8 JSON text.</summary>
    public static string Serialize(Command command) => JsonSerializer.Serialize(command, CommandJsonContext.Default.Command);

    /// <summary>Reads a command back from its JSON text.</summary>
    public static Command Deserialize(string json) =>
        JsonSerializer.Deserialize(json, CommandJsonContext.Default.Command)
        ?? throw new JsonException("a stored command is JSON null");
}

[JsonSerializable(typeof(Command))]
internal sealed partial class CommandJsonContext : JsonSerializerContext;

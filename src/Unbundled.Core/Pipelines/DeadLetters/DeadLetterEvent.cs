using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.DeadLetters;

/// <summary>
/// The change event a dead letter holds: the Debezium envelope plus the event's <c>key</c>, which the
/// envelope leaves to the transport. A letter a sink refused is filed under the refused document's key,
/// so the model's key must travel with the event for a replay to project it again.
/// </summary>
internal static class DeadLetterEvent
{
    /// <summary>The event as a letter stores it.</summary>
    public static string Serialize(ChangeEvent change)
    {
        var envelope = JsonSerializer.SerializeToNode(change)!.AsObject();
        envelope["key"] = change.Key;
        return envelope.ToJsonString();
    }

    /// <summary>The event a letter stores, with its key; null when the letter holds something else (a record the source could not read, a refused document).</summary>
    public static ChangeEvent? Deserialize(string stored, string fallbackKey)
    {
        try
        {
            if (JsonNode.Parse(stored) is not JsonObject envelope) return null;
            var change = envelope.Deserialize<ChangeEvent>();
            return change is null ? null : change with { Key = (string?)envelope["key"] ?? fallbackKey };
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.DeadLetters;

/// <summary>
/// The change event a dead letter holds: the Debezium envelope plus the event's <c>key</c>, which the
/// envelope leaves to the transport. A letter a sink refused is filed under the refused document's key,
/// so the model's key must travel with the event for a replay to project it again. A group's or joined
/// document comes from no one event: its letter holds the document, marked as refused.
/// </summary>
internal static class DeadLetterEvent
{
    private const string RefusedField = "unbundled.refusedDocument";

    // The event's mark of placeholders for values its origin did not send, which the envelope does not carry.
    private const string UnavailableField = "unbundled.unavailable";

    /// <summary>A group's or joined document a sink refused, as a letter stores it.</summary>
    public static string SerializeRefused(JsonObject? document) => new JsonObject { [RefusedField] = document?.DeepClone() }.ToJsonString();

    /// <summary>Whether a letter holds a document a sink refused (<see cref="SerializeRefused"/>) rather than an event or a record.</summary>
    public static bool HoldsRefused(string stored)
    {
        try
        {
            return JsonNode.Parse(stored) is JsonObject { Count: 1 } letter && letter.ContainsKey(RefusedField);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>The event as a letter stores it.</summary>
    public static string Serialize(ChangeEvent change)
    {
        var envelope = JsonSerializer.SerializeToNode(change)!.AsObject();
        envelope["key"] = change.Key;
        if (change.HasUnavailableValues) envelope[UnavailableField] = true;
        return envelope.ToJsonString();
    }

    /// <summary>The event a letter stores, with its key; null when the letter holds something else (a record the source could not read, a refused document).</summary>
    public static ChangeEvent? Deserialize(string stored, string fallbackKey)
    {
        try
        {
            if (JsonNode.Parse(stored) is not JsonObject envelope) return null;
            var change = envelope.Deserialize<ChangeEvent>();
            return change is null ? null : change with
            {
                Key = (string?)envelope["key"] ?? fallbackKey,
                HasUnavailableValues = envelope[UnavailableField] is JsonValue marked && marked.GetValueKind() == JsonValueKind.True,
            };
        }
        catch (Exception error) when (error is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

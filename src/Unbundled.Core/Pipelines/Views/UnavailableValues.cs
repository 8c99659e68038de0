using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Views;

/// <summary>
/// Debezium sends <see cref="ChangeEvent.UnavailableValue"/> for a column it did not read (an unchanged
/// TOASTed value under REPLICA IDENTITY DEFAULT). Written as it is, it would replace real data in the view
/// (a known trap of Debezium pipelines); each such field takes the value the key last had instead: from an
/// earlier write of the same batch, else from the view, else it is left out.
/// </summary>
internal static class UnavailableValues
{
    // Binary columns carry the placeholder's bytes, base64-encoded as Debezium encodes bytes by default.
    private static readonly string Base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(ChangeEvent.UnavailableValue));

    /// <summary>Replaces every placeholder in <paramref name="documents"/>, in order, by the value the key held.</summary>
    public static async Task FillAsync(List<SinkDocument> documents, ISinkConnector view, CancellationToken cancellationToken)
    {
        var latest = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        for (var i = 0; i < documents.Count; i++)
        {
            var document = documents[i];
            if (document.IsDelete || document.Document is not { } written)
            {
                latest.Remove(document.Key);
                continue;
            }
            if (Holds(written))
            {
                var held = latest.TryGetValue(document.Key, out var earlier) ? earlier : await view.ReadAsync(document.Key, cancellationToken).ConfigureAwait(false);
                var filled = written.DeepClone().AsObject();
                Fill(filled, held);
                documents[i] = document with { Document = filled };
                written = filled;
            }
            latest[document.Key] = written;
        }
    }

    private static bool IsPlaceholder(JsonNode? node) => node switch
    {
        JsonValue value => value.TryGetValue<string>(out var text) && (text == ChangeEvent.UnavailableValue || text == Base64),
        JsonArray { Count: 1 } array => IsPlaceholder(array[0]),
        _ => false,
    };

    private static bool Holds(JsonObject document) => document.Any(field => IsPlaceholder(field.Value) || (field.Value is JsonObject nested && Holds(nested)));

    private static void Fill(JsonObject document, JsonObject? held)
    {
        foreach (var name in document.Select(f => f.Key).ToList())
        {
            var value = document[name];
            if (IsPlaceholder(value))
            {
                if (held?[name] is { } known) document[name] = known.DeepClone();
                else document.Remove(name);
            }
            else if (value is JsonObject nested) Fill(nested, held?[name] as JsonObject);
        }
    }
}

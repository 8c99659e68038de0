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
            if (ChangeEvent.HoldsUnavailable(written))
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

    private static void Fill(JsonObject document, JsonObject? held)
    {
        foreach (var name in document.Select(f => f.Key).ToList())
        {
            var value = document[name];
            if (ChangeEvent.IsUnavailable(value))
            {
                if (held?[name] is { } known) document[name] = known.DeepClone();
                else document.Remove(name);
            }
            else if (value is JsonObject nested) Fill(nested, held?[name] as JsonObject);
        }
    }
}

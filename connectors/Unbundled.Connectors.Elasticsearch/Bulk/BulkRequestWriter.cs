using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch.Bulk;

/// <summary>
/// Writes the NDJSON body of a <c>_bulk</c> request: for each document an action line carrying the
/// model version as an external version (so Elasticsearch itself refuses stale and replayed writes),
/// then its source. Deletes carry their version too.
/// </summary>
public static class BulkRequestWriter
{
    private static readonly JsonWriterOptions Compact = new() { Indented = false, SkipValidation = true };

    /// <summary>Writes the request body for <paramref name="documents"/> into <paramref name="index"/> to <paramref name="buffer"/>.</summary>
    public static void Write(string index, IReadOnlyList<SinkDocument> documents, IBufferWriter<byte> buffer)
    {
        // The action lines differ only in the id and version: their fixed parts are written as bytes,
        // which halves the cost of a batch of small documents against going through the JSON writer.
        var target = JsonSerializer.Serialize(index);
        var indexAction = Encoding.UTF8.GetBytes($$"""{"index":{"_index":{{target}},"_id":""");
        var deleteAction = Encoding.UTF8.GetBytes($$"""{"delete":{"_index":{{target}},"_id":""");

        using var json = new Utf8JsonWriter(buffer, Compact);
        foreach (var document in documents)
        {
            buffer.Write(document.IsDelete ? deleteAction : indexAction);
            buffer.Write("\""u8);
            WriteKey(buffer, document.Key);
            buffer.Write("\",\"version\":"u8);
            Utf8Formatter.TryFormat(document.Version, buffer.GetSpan(20), out var written);
            buffer.Advance(written);
            buffer.Write(",\"version_type\":\"external\"}}\n"u8);
            if (document.IsDelete) continue;
            json.Reset(buffer);
            document.Document!.WriteTo(json);
            json.Flush();
            buffer.Write("\n"u8);
        }
    }

    private static void WriteKey(IBufferWriter<byte> buffer, string key)
    {
        if (IsPlainAscii(key)) buffer.Advance(Encoding.ASCII.GetBytes(key, buffer.GetSpan(key.Length)));
        else buffer.Write(JsonEncodedText.Encode(key).EncodedUtf8Bytes);
    }

    /// <summary>Keys are nearly always printable ASCII that JSON takes as it is, so they skip the encoder.</summary>
    private static bool IsPlainAscii(string key)
    {
        foreach (var c in key)
        {
            if (c < 0x20 || c > 0x7e || c is '"' or '\\' or '<' or '>' or '&' or '\'' or '+' or '`') return false;
        }
        return true;
    }
}

using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson.Journal;

/// <summary>What one line says: a write of a key at a version, or the commit of a batch up to a log offset.</summary>
/// <param name="Key">The written key; null on a commit line.</param>
/// <param name="Version">The write's version.</param>
/// <param name="IsDelete">True for a tombstone.</param>
/// <param name="CommitOffset">The offset a commit line stores; null on a write line.</param>
internal readonly record struct JournalRecord(string? Key, long Version, bool IsDelete, long? CommitOffset);

/// <summary>
/// The line format the journal and the snapshot share: <c>{"key","version","position","op","doc"}</c> for a
/// write, <c>{"offset":N}</c> for the commit that ends a batch. One JSON object per line, no newline inside.
/// </summary>
internal static class JournalLine
{
    // The writer and the reader agree on the depth, so every line that was written can be read back.
    private const int MaxDepth = 256;

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        MaxDepth = MaxDepth,
        // The files are for people and tools, not for HTML pages: keep non-ASCII text readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    /// <summary>Appends the write line of <paramref name="document"/>; a delete stores no document.</summary>
    /// <exception cref="InvalidOperationException">The document nests deeper than a line may.</exception>
    public static void WriteEntry(IBufferWriter<byte> output, SinkDocument document)
    {
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("key", document.Key);
            writer.WriteNumber("version", document.Version);
            writer.WriteNumber("position", document.Position);
            writer.WriteString("op", document.IsDelete ? "delete" : "upsert");
            writer.WritePropertyName("doc");
            if (document.IsDelete || document.Document is null) writer.WriteNullValue();
            else document.Document.WriteTo(writer);
            writer.WriteEndObject();
        }
        output.Write("\n"u8);
    }

    /// <summary>Appends the commit line that stores <paramref name="offset"/>.</summary>
    public static void WriteCommit(IBufferWriter<byte> output, long offset)
    {
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteNumber("offset", offset);
            writer.WriteEndObject();
        }
        output.Write("\n"u8);
    }

    /// <summary>Reads what a line says without materialising its document; false when it is not a well-formed line.</summary>
    public static bool TryRead(ReadOnlySpan<byte> line, out JournalRecord record)
    {
        record = default;
        string? key = null, op = null;
        long? version = null, offset = null;
        try
        {
            var reader = new Utf8JsonReader(line, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("key"u8)) { reader.Read(); key = reader.GetString(); }
                else if (reader.ValueTextEquals("version"u8)) { reader.Read(); version = reader.GetInt64(); }
                else if (reader.ValueTextEquals("op"u8)) { reader.Read(); op = reader.GetString(); }
                else if (reader.ValueTextEquals("offset"u8)) { reader.Read(); offset = reader.GetInt64(); }
                else { reader.Read(); reader.Skip(); }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read()) return false;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return false;
        }

        if (offset is { } commit && key is null) { record = new JournalRecord(null, 0, false, commit); return true; }
        if (key is null || version is null || op is not ("upsert" or "delete")) return false;
        record = new JournalRecord(key, version.Value, op == "delete", null);
        return true;
    }

    /// <summary>The document a write line holds; null for a tombstone.</summary>
    /// <exception cref="InvalidDataException">The line is not a write line.</exception>
    public static JsonObject? ReadDocument(ReadOnlySpan<byte> line)
    {
        var reader = new Utf8JsonReader(line, ReaderOptions);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (!reader.ValueTextEquals("doc"u8)) { reader.Read(); reader.Skip(); continue; }
            reader.Read();
            return reader.TokenType == JsonTokenType.Null ? null : JsonNode.Parse(ref reader)!.AsObject();
        }
        throw new InvalidDataException("A line the view's index points at holds no document.");
    }
}

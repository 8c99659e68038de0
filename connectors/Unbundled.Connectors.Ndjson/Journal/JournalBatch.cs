using System.Buffers;
using Unbundled.Connectors.Ndjson.Index;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson.Journal;

/// <summary>
/// The lines one sink batch appends to the journal: the writes that pass their version guard against the
/// view and against earlier writes of the same batch, then one commit line.
/// </summary>
internal sealed class JournalBatch(ViewIndex index)
{
    private readonly ArrayBufferWriter<byte> _lines = new();
    private readonly ArrayBufferWriter<byte> _line = new();
    private readonly Dictionary<string, ViewEntry> _entries = new(StringComparer.Ordinal);
    private readonly List<SinkRejection> _rejected = [];

    /// <summary>The writes refused for good.</summary>
    public IReadOnlyList<SinkRejection> Rejected => _rejected;

    /// <summary>Each key this batch changes, with its entry; offsets count from the start of the batch's lines.</summary>
    public IReadOnlyDictionary<string, ViewEntry> Entries => _entries;

    /// <summary>Adds <paramref name="document"/> unless the view, or this batch, holds its key at an equal or newer version.</summary>
    public void Add(SinkDocument document)
    {
        if (string.IsNullOrEmpty(document.Key)) { Reject(document, "The document has no key."); return; }
        if (!document.IsDelete && document.Document is null) { Reject(document, "An upsert needs a document."); return; }

        var held = _entries.TryGetValue(document.Key, out var pending) ? pending.Version
            : index.TryGet(document.Key, out var entry) ? entry.Version
            : (long?)null;
        if (held >= document.Version) return;

        _line.ResetWrittenCount();
        try { JournalLine.WriteEntry(_line, document); }
        catch (InvalidOperationException e) { Reject(document, e.Message); return; }

        _entries[document.Key] = new ViewEntry(document.Version, document.IsDelete, ViewFile.Journal, _lines.WrittenCount, _line.WrittenCount - 1);
        _lines.Write(_line.WrittenSpan);
    }

    /// <summary>Ends the batch with the commit line that stores <paramref name="offset"/>; returns every line to append.</summary>
    public ReadOnlyMemory<byte> Commit(long offset)
    {
        JournalLine.WriteCommit(_lines, offset);
        return _lines.WrittenMemory;
    }

    private void Reject(SinkDocument document, string reason) => _rejected.Add(new SinkRejection(document, reason));
}

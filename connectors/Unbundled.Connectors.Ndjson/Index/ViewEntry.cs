namespace Unbundled.Connectors.Ndjson.Index;

/// <summary>Which of the view's files a line lives in.</summary>
internal enum ViewFile : byte
{
    /// <summary>The compacted snapshot, <c>view.ndjson</c>.</summary>
    Snapshot,

    /// <summary>The append-only journal, <c>changes.ndjson</c>.</summary>
    Journal,
}

/// <summary>What the view holds for one key: its version, whether it is a tombstone, and where its latest line is.</summary>
/// <param name="Version">The version of the latest applied write.</param>
/// <param name="IsDelete">True when the key is deleted; the tombstone still guards against older writes.</param>
/// <param name="File">The file holding that write's line.</param>
/// <param name="Offset">The line's byte offset in that file.</param>
/// <param name="Length">The line's length in bytes, without its newline.</param>
internal readonly record struct ViewEntry(long Version, bool IsDelete, ViewFile File, long Offset, int Length);

using System.Buffers;
using Microsoft.Win32.SafeHandles;
using Unbundled.Connectors.Ndjson.Index;
using Unbundled.Connectors.Ndjson.Journal;

namespace Unbundled.Connectors.Ndjson.View;

/// <summary>
/// Writes a new snapshot: the latest line of every key (tombstones included, since they still guard
/// against replayed older writes) read in file order from the old snapshot and the journal, then one
/// commit line with the offset. Sequential reads, and nothing but the index held in memory.
/// </summary>
internal static class ViewCompaction
{
    /// <summary>Writes and syncs the snapshot to <paramref name="path"/>; returns the index over it.</summary>
    public static async Task<ViewIndex> WriteAsync(
        string path, ViewIndex index, SafeFileHandle? snapshot, SafeFileHandle journal, long journalLength, long offset,
        CancellationToken cancellationToken)
    {
        var compacted = new ViewIndex();
        await using var output = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 64 * 1024);
        if (snapshot is not null)
            await CopyLatestLinesAsync(snapshot, RandomAccess.GetLength(snapshot), ViewFile.Snapshot, index, compacted, output, cancellationToken);
        await CopyLatestLinesAsync(journal, journalLength, ViewFile.Journal, index, compacted, output, cancellationToken);

        var commit = new ArrayBufferWriter<byte>();
        JournalLine.WriteCommit(commit, offset);
        await output.WriteAsync(commit.WrittenMemory, cancellationToken);
        await output.FlushAsync(cancellationToken);
        output.Flush(flushToDisk: true);
        return compacted;
    }

    private static async Task CopyLatestLinesAsync(
        SafeFileHandle source, long length, ViewFile file, ViewIndex index, ViewIndex compacted, FileStream output,
        CancellationToken cancellationToken)
    {
        await foreach (var line in FileLines.ReadAsync(source, length, cancellationToken))
        {
            if (!JournalLine.TryRead(line.Bytes.Span, out var record))
                throw new InvalidDataException($"A committed line at byte {line.Offset} of the {file} cannot be read.");
            if (record.Key is null || !index.IsLatest(record.Key, file, line.Offset)) continue;

            compacted.Apply(record.Key, new ViewEntry(record.Version, record.IsDelete, ViewFile.Snapshot, output.Position, line.Bytes.Length));
            await output.WriteAsync(line.Bytes, cancellationToken);
            output.WriteByte((byte)'\n');
        }
    }
}

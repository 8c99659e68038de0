using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Unbundled.Connectors.Ndjson.Index;
using Unbundled.Connectors.Ndjson.Journal;

namespace Unbundled.Connectors.Ndjson.View;

/// <summary>
/// The view's files in one directory and the index over them. It changes only by whole committed appends
/// and by compactions; after any failure its owner drops it and opens it again, which recovers exactly
/// like a restart after a crash.
/// </summary>
internal sealed class ViewStore : IAsyncDisposable
{
    /// <summary>The append-only journal of applied writes and batch commits.</summary>
    public const string JournalFileName = "changes.ndjson";

    /// <summary>The compacted view: the latest line of every key, then a commit line.</summary>
    public const string SnapshotFileName = "view.ndjson";

    private const string TemporaryFileName = "view.ndjson.tmp";

    private readonly string _directory;
    private readonly FileStream _journal;
    private SafeFileHandle? _snapshot;
    private ViewIndex _index;

    private ViewStore(string directory, FileStream journal, SafeFileHandle? snapshot, ViewIndex index, long offset)
    {
        _directory = directory;
        _journal = journal;
        _snapshot = snapshot;
        _index = index;
        Offset = offset;
        JournalLength = journal.Length;
    }

    /// <summary>The offset of the last committed batch (0: none).</summary>
    public long Offset { get; private set; }

    /// <summary>The journal's committed length in bytes.</summary>
    public long JournalLength { get; private set; }

    /// <summary>The index over the view; replaced by a compaction.</summary>
    public ViewIndex Index => _index;

    /// <summary>
    /// Opens the view in <paramref name="directory"/>, creating it when missing: loads the snapshot, replays
    /// the journal's committed batches over it and cuts off a tail that was never committed.
    /// </summary>
    public static async Task<ViewStore> OpenAsync(string directory, ILogger logger, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(directory);
        // A compaction that stopped before its rename: the old snapshot and the journal still hold everything.
        File.Delete(Path.Combine(directory, TemporaryFileName));

        var index = new ViewIndex();
        SafeFileHandle? snapshot = null;
        FileStream? journal = null;
        try
        {
            long offset = 0;
            var snapshotPath = Path.Combine(directory, SnapshotFileName);
            if (File.Exists(snapshotPath))
            {
                snapshot = OpenSnapshot(snapshotPath);
                var loaded = await JournalReplay.ReplayAsync(snapshot, ViewFile.Snapshot, index, cancellationToken);
                if (loaded.CommittedLength != RandomAccess.GetLength(snapshot))
                    throw new InvalidDataException($"{snapshotPath} does not end with its commit line; snapshots are renamed into place whole, so it was damaged.");
                offset = loaded.Offset;
            }

            // FileShare.None also locks the file against a second writer on the same directory.
            journal = new FileStream(Path.Combine(directory, JournalFileName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0);
            var replayed = await JournalReplay.ReplayAsync(journal.SafeFileHandle, ViewFile.Journal, index, cancellationToken);
            if (replayed.CommittedLength < journal.Length)
            {
                logger.LogWarning("Discarding {Bytes} uncommitted bytes at the end of the journal in {Directory}", journal.Length - replayed.CommittedLength, directory);
                journal.SetLength(replayed.CommittedLength);
                journal.Flush(flushToDisk: true);
            }
            return new ViewStore(directory, journal, snapshot, index, Math.Max(offset, replayed.Offset));
        }
        catch
        {
            snapshot?.Dispose();
            if (journal is not null) await journal.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Appends a batch's lines, commit line last, in one write and one sync, then records its entries
    /// (whose offsets count from the start of <paramref name="lines"/>) and <paramref name="offset"/>.
    /// </summary>
    public async Task AppendAsync(
        ReadOnlyMemory<byte> lines, IReadOnlyDictionary<string, ViewEntry> entries, long offset, CancellationToken cancellationToken)
    {
        _journal.Position = JournalLength;
        await _journal.WriteAsync(lines, cancellationToken);
        _journal.Flush(flushToDisk: true);

        foreach (var (key, entry) in entries)
            _index.Apply(key, entry with { Offset = JournalLength + entry.Offset });
        JournalLength += lines.Length;
        Offset = offset;
    }

    /// <summary>Reads the line the index points at for <paramref name="entry"/>.</summary>
    public async Task<byte[]> ReadLineAsync(ViewEntry entry, CancellationToken cancellationToken)
    {
        var file = entry.File == ViewFile.Journal ? _journal.SafeFileHandle : _snapshot!;
        var line = new byte[entry.Length];
        var read = 0;
        while (read < line.Length)
        {
            var count = await RandomAccess.ReadAsync(file, line.AsMemory(read), entry.Offset + read, cancellationToken);
            if (count == 0) throw new InvalidDataException($"The {entry.File} ends before a line the view's index points at.");
            read += count;
        }
        return line;
    }

    /// <summary>Folds the journal into a new snapshot, renames it into place and empties the journal.</summary>
    public async Task CompactAsync(CancellationToken cancellationToken)
    {
        var temporaryPath = Path.Combine(_directory, TemporaryFileName);
        var snapshotPath = Path.Combine(_directory, SnapshotFileName);
        var compacted = await ViewCompaction.WriteAsync(temporaryPath, _index, _snapshot, _journal.SafeFileHandle, JournalLength, Offset, cancellationToken);

        _snapshot?.Dispose();
        _snapshot = null;
        File.Move(temporaryPath, snapshotPath, overwrite: true);
        // The journal is emptied only after the rename. A crash between the two leaves the old journal beside
        // the new snapshot, and replaying it then is harmless: every line is version-guarded and the offset
        // never falls. File systems that journal metadata in order (ext4, XFS) never persist the truncation
        // without the rename before it.
        _journal.SetLength(0);
        _journal.Flush(flushToDisk: true);
        JournalLength = 0;
        _index = compacted;
        _snapshot = OpenSnapshot(snapshotPath);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _snapshot?.Dispose();
        await _journal.DisposeAsync();
    }

    private static SafeFileHandle OpenSnapshot(string path) =>
        File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
}

using Microsoft.Win32.SafeHandles;
using Unbundled.Connectors.Ndjson.Index;

namespace Unbundled.Connectors.Ndjson.Journal;

/// <summary>What a replay found: the offset the file's last commit stored, and where that commit line ends.</summary>
/// <param name="Offset">The highest offset committed (0: none).</param>
/// <param name="CommittedLength">The length of the file's committed prefix; anything after it was never acknowledged.</param>
internal readonly record struct ReplayResult(long Offset, long CommittedLength);

/// <summary>
/// Rebuilds the view's index from a file of journal lines, applying a batch's writes only once its commit
/// line is read: a write that was torn by a crash, or never finished, leaves no trace in the view.
/// </summary>
internal static class JournalReplay
{
    /// <summary>Applies every committed write of <paramref name="file"/> to <paramref name="index"/>, version-guarded.</summary>
    /// <exception cref="InvalidDataException">A damaged line stands before a commit line: committed data is damaged.</exception>
    public static async Task<ReplayResult> ReplayAsync(
        SafeFileHandle file, ViewFile source, ViewIndex index, CancellationToken cancellationToken)
    {
        var pending = new List<(string Key, ViewEntry Entry)>();
        long offset = 0, committedLength = 0, damagedAt = -1;
        await foreach (var line in FileLines.ReadAsync(file, RandomAccess.GetLength(file), cancellationToken))
        {
            var wellFormed = JournalLine.TryRead(line.Bytes.Span, out var record);
            if (damagedAt >= 0 || !wellFormed)
            {
                // Each batch is appended and synced whole before the next one starts, so only the last
                // write can be torn. A commit after a damaged line means acknowledged data was damaged
                // later; truncating there would silently drop it, so refuse instead.
                if (damagedAt < 0) damagedAt = line.Offset;
                if (wellFormed && record.CommitOffset is not null)
                    throw new InvalidDataException($"Line at byte {damagedAt} is damaged but later batches were committed.");
                continue;
            }

            if (record.CommitOffset is { } commit)
            {
                foreach (var (key, entry) in pending) index.Apply(key, entry);
                pending.Clear();
                offset = Math.Max(offset, commit);
                committedLength = line.End;
            }
            else
            {
                pending.Add((record.Key!, new ViewEntry(record.Version, record.IsDelete, source, line.Offset, line.Bytes.Length)));
            }
        }
        return new ReplayResult(offset, committedLength);
    }
}

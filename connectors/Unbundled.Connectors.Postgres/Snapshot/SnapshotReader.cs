using System.Text.Json.Nodes;
using Npgsql;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Values;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres.Snapshot;

/// <summary>
/// Reads the captured tables as <c>op: r</c> events, table after table in key order, a keyset query per read,
/// numbering rows with the offsets below the stream's start. The first pass reads inside the snapshot the
/// slot exported, so the view starts from one consistent state. A pass resumed after a crash (that snapshot
/// died with its connection) reads the remaining rows as they are now: still exact, because each row keeps
/// the consistent point as its version and the stream then replays every change after that point over it.
/// </summary>
internal sealed class SnapshotReader(NpgsqlDataSource database, IReadOnlyList<CapturedTable> tables, PgTypes types, SnapshotCheckpoints checkpoints,
    RowEvents events, PostgresSourceOptions options, ulong consistentPoint) : IAsyncDisposable
{
    private sealed record Cursor(long Offset, int Table, string[]? AfterKey, long SavedAt);

    private readonly Dictionary<int, CapturedTable> _described = [];
    private long _estimatedRows = -1;
    private long _rowsRead;
    private NpgsqlTransaction? _exported;
    private Cursor? _cursor;

    /// <summary>The offset the snapshot ends at.</summary>
    public long End { get; } = ChangeOffsets.StreamStart(consistentPoint);

    /// <summary>
    /// Where the snapshot will roughly end, counted from <paramref name="cursor"/>: the rows the planner
    /// believes the tables hold, less those read so far; what a progress bar measures against.
    /// </summary>
    public async Task<long> EstimatedHeadAsync(long cursor, CancellationToken cancellationToken)
    {
        if (_estimatedRows < 0)
        {
            await using var command = database.CreateCommand("select coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint from pg_class c join pg_namespace n on n.oid = c.relnamespace where (n.nspname, c.relname) in (select * from unnest($1::text[], $2::text[]))");
            command.Parameters.Add(new() { Value = tables.Select(t => t.Schema).ToArray() });
            command.Parameters.Add(new() { Value = tables.Select(t => t.Name).ToArray() });
            _estimatedRows = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        return Math.Min(End, cursor + Math.Max(1, _estimatedRows - _rowsRead));
    }

    /// <summary>Reads the first pass in <paramref name="transaction"/>, which imported the slot's exported snapshot.</summary>
    public void ReadIn(NpgsqlTransaction transaction) => _exported = transaction;

    /// <summary>Up to <paramref name="maxCount"/> rows after <paramref name="afterOffset"/>; the batch reaches <see cref="End"/> when the last table is read.</summary>
    public async Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
    {
        var cursor = _cursor?.Offset == afterOffset ? _cursor : await SeekAsync(afterOffset, cancellationToken).ConfigureAwait(false);
        var records = new List<SourceRecord>();
        var origin = DateTimeOffset.UtcNow;
        while (records.Count < maxCount && cursor.Table < tables.Count)
        {
            var table = await DescribeAsync(cursor.Table, cancellationToken).ConfigureAwait(false);
            var asked = Math.Min(maxCount - records.Count, options.SnapshotChunkSize);
            var rows = await ChunkQuery.ReadAsync(database, _exported, table, types, cursor.AfterKey, asked, cancellationToken).ConfigureAwait(false);
            foreach (var (key, row, keyTexts) in rows)
            {
                cursor = cursor with { Offset = cursor.Offset + 1, AfterKey = keyTexts };
                _rowsRead++;
                records.Add(events.Record(cursor.Offset, ChangeOp.Read, key, null, row, new RowOrigin(table.Schema, table.Name, null, consistentPoint, origin, Snapshot: true)));
            }
            if (rows.Count < asked) cursor = cursor with { Table = cursor.Table + 1, AfterKey = null };
            if (cursor.Offset + 1 - cursor.SavedAt >= options.SnapshotChunkSize && cursor.Table < tables.Count)
            {
                await checkpoints.SaveAsync(new SnapshotCheckpoint(cursor.Offset + 1, cursor.Table, cursor.AfterKey), cancellationToken).ConfigureAwait(false);
                cursor = cursor with { SavedAt = cursor.Offset + 1 };
            }
        }
        if (cursor.Table < tables.Count)
        {
            _cursor = cursor;
            return new SourceBatch(records, cursor.Offset) { MoreAvailable = true };
        }
        _cursor = null;
        await EndExportedAsync().ConfigureAwait(false);
        return new SourceBatch(records, End);
    }

    /// <summary>Goes to the checkpoint at or before <paramref name="afterOffset"/> and numbers the rows after it anew from there.</summary>
    private async Task<Cursor> SeekAsync(long afterOffset, CancellationToken cancellationToken)
    {
        var checkpoint = await checkpoints.AtOrBeforeAsync(afterOffset + 1, cancellationToken).ConfigureAwait(false);
        var start = new SnapshotCheckpoint(afterOffset + 1, checkpoint?.Table ?? 0, checkpoint?.AfterKey);
        if (checkpoint?.Start != start.Start) await checkpoints.SaveAsync(start, cancellationToken).ConfigureAwait(false);
        return new Cursor(afterOffset, start.Table, start.AfterKey, start.Start);
    }

    private async Task<CapturedTable> DescribeAsync(int index, CancellationToken cancellationToken)
    {
        if (_described.TryGetValue(index, out var known)) return known;
        // Columns may have been added or dropped since the source started.
        var table = await TableCatalog.DescribeAsync(database, tables[index].Schema, tables[index].Name, options, cancellationToken).ConfigureAwait(false) ?? tables[index];
        foreach (var column in table.Columns)
            if (!types.Knows(column.TypeOid)) await types.LoadAsync(cancellationToken).ConfigureAwait(false);
        return _described[index] = table;
    }

    private async Task EndExportedAsync()
    {
        if (_exported is not { } transaction) return;
        _exported = null;
        var connection = transaction.Connection;
        await transaction.DisposeAsync().ConfigureAwait(false);
        if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => new(EndExportedAsync());
}

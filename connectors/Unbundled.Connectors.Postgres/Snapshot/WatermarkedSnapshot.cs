using Microsoft.Extensions.Logging;
using Npgsql;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Values;

namespace Unbundled.Connectors.Postgres.Snapshot;

/// <summary>
/// Reads tables added to a running source while its stream goes on, a chunk at a time between a low and a
/// high watermark written into the WAL (<c>pg_logical_emit_message</c>); <see cref="Watermarks"/> merges each
/// chunk into the stream at its high watermark. A table's progress is saved once the pipeline has handled
/// a chunk, so a crash reads at most that chunk again.
/// </summary>
internal sealed class WatermarkedSnapshot(NpgsqlDataSource database, SnapshotCheckpoints checkpoints, Watermarks watermarks, PgTypes types,
    PostgresSourceOptions options, ILogger logger)
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(1);
    // The table being read first, then those waiting.
    private readonly List<(CapturedTable Table, string[]? AfterKey)> _pending = [];
    private (string Id, long Since)? _inFlight;

    /// <summary>True while a table added to the source still has rows to read.</summary>
    public bool Pending => _pending.Count > 0;

    /// <summary>Takes the tables of <paramref name="tables"/> whose rows are still to be read, and where each stands.</summary>
    public async Task StartAsync(IReadOnlyList<CapturedTable> tables, bool coveredBySnapshot, CancellationToken cancellationToken)
    {
        var left = await checkpoints.TablesAsync(tables.Select(t => t.Qualified), coveredBySnapshot, cancellationToken).ConfigureAwait(false);
        foreach (var (name, afterKey) in left)
        {
            if (tables.FirstOrDefault(t => t.Qualified == name) is not { } table) continue;
            _pending.Add((table, afterKey));
            logger.LogInformation("Table {Table} was added to the source: its rows are read in watermarked chunks while the stream goes on", name);
        }
    }

    /// <summary>Reads the next chunk between watermarks, unless one is still on its way through the stream.</summary>
    public async Task StepAsync(CancellationToken cancellationToken)
    {
        if (_pending.Count == 0) return;
        // A high watermark replayed by a restarted stream has no rows here: the chunk is read again.
        if (_inFlight is { } flying && Environment.TickCount64 - flying.Since < Patience.TotalMilliseconds) return;
        var (table, afterKey) = _pending[0];
        var id = Guid.NewGuid().ToString("N");
        await EmitAsync($"low:{id}", cancellationToken).ConfigureAwait(false);
        var described = await TableCatalog.DescribeAsync(database, table.Schema, table.Name, options, cancellationToken).ConfigureAwait(false) ?? table;
        var rows = await ChunkQuery.ReadAsync(database, null, described, types, afterKey, options.SnapshotChunkSize, cancellationToken).ConfigureAwait(false);
        watermarks.Read(new WatermarkChunk(id, described, rows, rows.Count < options.SnapshotChunkSize));
        _inFlight = (id, Environment.TickCount64);
        await EmitAsync($"high:{id}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The pipeline handled <paramref name="chunk"/>: its table's progress is saved and the next chunk may go.</summary>
    public async Task HandledAsync(EmittedChunk chunk, CancellationToken cancellationToken)
    {
        await checkpoints.AdvanceTableAsync(chunk.Table.Qualified, chunk.AfterKey, chunk.Last, cancellationToken).ConfigureAwait(false);
        _inFlight = null;
        if (_pending.Count == 0 || _pending[0].Table.Qualified != chunk.Table.Qualified) return;
        if (!chunk.Last)
        {
            _pending[0] = (chunk.Table, chunk.AfterKey ?? _pending[0].AfterKey);
            return;
        }
        _pending.RemoveAt(0);
        logger.LogInformation("Table {Table} is read: its rows are in the view", chunk.Table.Qualified);
    }

    private async Task EmitAsync(string watermark, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("select pg_logical_emit_message(true, $1, $2)");
        command.Parameters.Add(new() { Value = Watermarks.Prefix });
        command.Parameters.Add(new() { Value = watermark });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

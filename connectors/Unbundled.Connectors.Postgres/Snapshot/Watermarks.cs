using System.Text.Json.Nodes;
using Unbundled.Connectors.Postgres.Catalog;

namespace Unbundled.Connectors.Postgres.Snapshot;

/// <summary>A chunk of a table read between a low and a high watermark, waiting for the stream to reach the high one.</summary>
/// <param name="Id">The watermark pair's id.</param>
/// <param name="Table">The table read.</param>
/// <param name="Rows">The rows read, by event key, with their key values as text (for the next chunk).</param>
/// <param name="Last">True when the chunk reached the table's end.</param>
internal sealed record WatermarkChunk(string Id, CapturedTable Table, IReadOnlyList<(string Key, JsonObject Row, string[] KeyTexts)> Rows, bool Last);

/// <summary>A chunk the stream has emitted at its high watermark: once the pipeline acknowledges <paramref name="Offset"/>, the table's progress may be saved.</summary>
internal sealed record EmittedChunk(long Offset, CapturedTable Table, string[]? AfterKey, bool Last);

/// <summary>
/// The DBLog watermark algorithm (as Debezium's incremental snapshots use it) on the stream's side: between
/// a chunk's low and high watermark messages, the keys the stream changes are noted; at the high watermark,
/// the chunk's rows whose keys were not changed meanwhile are emitted as <c>op: r</c> events, at the high
/// watermark's place in the stream. A row read by the chunk is thus never emitted after a newer change of
/// it, and the stream never stops for the snapshot.
/// </summary>
internal sealed class Watermarks
{
    /// <summary>The prefix of the logical decoding messages that carry watermarks.</summary>
    public const string Prefix = "unbundled.watermark";

    private readonly Dictionary<string, WatermarkChunk> _chunks = [];
    private readonly Dictionary<string, HashSet<string>> _open = [];
    private readonly object _gate = new();

    /// <summary>Gives the rows of a chunk whose high watermark is about to be written.</summary>
    public void Read(WatermarkChunk chunk)
    {
        lock (_gate) _chunks[chunk.Id] = chunk;
    }

    /// <summary>The stream passed a low watermark: keys changed from now on are noted.</summary>
    public void Low(string id)
    {
        lock (_gate) _open[id] = [];
    }

    /// <summary>The stream changed <paramref name="key"/> of <paramref name="table"/> while a window may be open.</summary>
    public void Changed(string schema, string table, string key)
    {
        // Windows are opened and closed by the pump, which also calls this: without one, every change passes untouched.
        if (_open.Count == 0) return;
        lock (_gate)
        {
            foreach (var (id, keys) in _open)
                if (_chunks.TryGetValue(id, out var chunk) is false || (chunk.Table.Schema == schema && chunk.Table.Name == table)) keys.Add($"{schema}.{table}\n{key}");
        }
    }

    /// <summary>
    /// The stream reached the high watermark of <paramref name="id"/>: the chunk's rows not changed inside the
    /// window, or null when this process holds no such chunk (a watermark replayed after a restart: the
    /// table's progress, saved only once acknowledged, makes that chunk be read again).
    /// </summary>
    public (WatermarkChunk Chunk, IEnumerable<(string Key, JsonObject Row, string[] KeyTexts)> Rows)? High(string id)
    {
        lock (_gate)
        {
            _open.Remove(id, out var changed);
            if (!_chunks.Remove(id, out var chunk)) return null;
            changed ??= [];
            return (chunk, chunk.Rows.Where(r => !changed.Contains($"{chunk.Table.Schema}.{chunk.Table.Name}\n{r.Key}")).ToList());
        }
    }
}

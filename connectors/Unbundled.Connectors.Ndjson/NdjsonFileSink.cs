using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson;

/// <summary>
/// A view kept as an append-only NDJSON journal (<c>changes.ndjson</c>): one line per applied write
/// (<c>{"key","version","position","op","doc"}</c>) and, after each batch, a commit line
/// (<c>{"offset":N}</c>) written in the same append. On start the journal is replayed up to its last
/// commit line and anything after it — a batch torn by a crash — is cut off, so the offset and the
/// writes can never disagree. The current documents are held in memory for reads: this connector
/// suits views that fit in memory, and shows how little the SDK asks of a connector.
/// </summary>
public sealed class NdjsonFileSink(string pipeline, NdjsonFileOptions options) : ISinkConnector
{
    private readonly string _journalPath = Path.Combine(options.Directory.Replace("{pipeline}", pipeline), "changes.ndjson");
    private readonly Dictionary<string, (long Version, JsonObject? Document)> _view = new(StringComparer.Ordinal);
    private FileStream? _journal;
    private long _offset;

    /// <inheritdoc />
    public bool KeepsOffset => true;

    /// <summary>Where the journal is.</summary>
    public string JournalPath => _journalPath;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_journalPath))!);
        _journal?.Dispose();
        _view.Clear();
        _offset = 0;
        _journal = new FileStream(_journalPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var committed = await ReplayAsync(_journal, cancellationToken).ConfigureAwait(false);
        _journal.SetLength(committed);
        _journal.Seek(committed, SeekOrigin.Begin);
    }

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) => Task.FromResult(_offset);

    /// <inheritdoc />
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var journal = _journal ?? throw new InvalidOperationException("The NDJSON sink is not connected.");
        var applied = new Dictionary<string, (long Version, JsonObject? Document)>(StringComparer.Ordinal);
        var lines = new StringBuilder();
        foreach (var document in batch.Documents)
        {
            var held = applied.TryGetValue(document.Key, out var pending) ? pending.Version : _view.TryGetValue(document.Key, out var stored) ? stored.Version : 0;
            if (document.Version <= held) continue;
            var kept = document.IsDelete ? null : document.Document;
            applied[document.Key] = (document.Version, kept);
            lines.Append(new JsonObject
            {
                ["key"] = document.Key,
                ["version"] = document.Version,
                ["position"] = document.Position,
                ["op"] = document.IsDelete ? "delete" : "upsert",
                ["doc"] = kept?.DeepClone(),
            }.ToJsonString()).Append('\n');
        }
        var offset = Math.Max(_offset, batch.Offset);
        lines.Append(new JsonObject { ["offset"] = offset }.ToJsonString()).Append('\n');

        var bytes = Encoding.UTF8.GetBytes(lines.ToString());
        await journal.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        if (options.Fsync) journal.Flush(flushToDisk: true);
        else await journal.FlushAsync(cancellationToken).ConfigureAwait(false);

        foreach (var (key, value) in applied) _view[key] = value;
        _offset = offset;
        return SinkBatchResult.Success;
    }

    /// <inheritdoc />
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(_view.TryGetValue(key, out var held) ? held.Document?.DeepClone() as JsonObject : null);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_journal is not null) await _journal.DisposeAsync().ConfigureAwait(false);
        _journal = null;
    }

    /// <summary>Applies the journal's committed batches and returns the length of its committed part.</summary>
    private async Task<long> ReplayAsync(FileStream journal, CancellationToken cancellationToken)
    {
        var pending = new List<(string Key, long Version, JsonObject? Document)>();
        long committed = 0, read = 0;
        using var reader = new StreamReader(journal, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            read += Encoding.UTF8.GetByteCount(line) + 1;
            if (read > journal.Length) break;
            JsonObject? entry;
            try
            {
                entry = JsonNode.Parse(line) as JsonObject;
            }
            catch (JsonException)
            {
                break;
            }
            if (entry is null) break;
            if (entry["offset"] is { } offset)
            {
                foreach (var (key, version, document) in pending) _view[key] = (version, document);
                pending.Clear();
                _offset = offset.GetValue<long>();
                committed = read;
                continue;
            }
            pending.Add(((string)entry["key"]!, (long)entry["version"]!, entry["doc"] as JsonObject));
        }
        return committed;
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using Unbundled.Log;
using Unbundled.Model;
using Unbundled.Sdk.Events;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// Turns log entries into change events with the model's whole document before and after the
/// command. It remembers the documents of recently changed models (bounded), so replaying the log in
/// order costs one copy and one apply per entry; a model it has forgotten is rebuilt from its stored
/// snapshot and the entries after it.
/// </summary>
public sealed class ChangeEventReader(ICommandLog log, string sourceName, int cachedModels = 10_000) : IDisposable
{
    private readonly MemoryCache _documents = new(new MemoryCacheOptions { SizeLimit = cachedModels });
    private readonly MemoryCacheEntryOptions _one = new() { Size = 1 };

    /// <summary>The change event of one entry, which must come after the model's previous entry in log order.</summary>
    public async Task<ChangeEvent> ReadAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        var before = _documents.Get<Known>(entry.Model) is { } known && known.Version == entry.Version - 1
            ? known.Document
            : await RebuildAsync(entry.Model, entry.Version - 1, cancellationToken).ConfigureAwait(false);

        var after = ModelDocument.Apply(before?.DeepClone(), entry.Command, DocumentPath.Parse(entry.Command.Path));
        _documents.Set(entry.Model, new Known(entry.Version, after), _one);

        var isRoot = entry.Command.Path.Length == 0;
        var op = (isRoot, entry.Command.Op) switch
        {
            (true, CommandOp.Create) => ChangeOp.Create,
            (true, CommandOp.Delete) => ChangeOp.Delete,
            _ => ChangeOp.Update,
        };
        var timestamp = entry.Timestamp.ToUnixTimeMilliseconds();
        return new ChangeEvent
        {
            Key = entry.Model.Id,
            Op = op,
            Before = before,
            After = after,
            Source = new ChangeSource { Name = sourceName, Table = entry.Model.Type, Position = entry.Position, Version = entry.Version, TsMs = timestamp },
            TsMs = timestamp,
            TraceParent = entry.Command.Meta?.GetValueOrDefault(Tracing.UnbundledTracing.MetaName),
            // A move writes two places, its path and where it came from.
            Path = entry.Command.Op == CommandOp.Move ? null : entry.Command.Path,
        };
    }

    /// <inheritdoc />
    public void Dispose() => _documents.Dispose();

    private async Task<JsonNode?> RebuildAsync(ModelKey model, long version, CancellationToken cancellationToken)
    {
        if (version == 0) return null;
        // The stored snapshot is the model's newest; when it is not past the version wanted, only the
        // entries after it need replaying. Otherwise the model is replayed from its first entry.
        var stored = await log.ReadModelAsync(model, cancellationToken).ConfigureAwait(false);
        var (document, from) = stored.Snapshot is { } snapshot && snapshot.Version <= version
            ? (snapshot.State?.DeepClone(), snapshot.Version)
            : (null, 0L);
        if (from == version) return document;
        foreach (var entry in await log.ReadModelEntriesAsync(model, from, cancellationToken).ConfigureAwait(false))
        {
            if (entry.Version > version) break;
            document = ModelDocument.Apply(document, entry.Command, DocumentPath.Parse(entry.Command.Path));
        }
        return document;
    }

    private sealed record Known(long Version, JsonNode? Document);
}

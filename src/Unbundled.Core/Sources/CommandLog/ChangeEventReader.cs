using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using Unbundled.Log;
using Unbundled.Model;
using Unbundled.Sdk.Events;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// Turns log entries into change events with the model's whole document before and after the
/// command. It keeps the documents of recently changed models (bounded) and applies each command to
/// its own copy in place; an event's states are copied from that model's history only when a consumer
/// reads them (<see cref="ModelHistory"/>), and the item of an array the command wrote is caught on the
/// way (<see cref="ChangeEvent.Item"/>), so a consumer narrowed to that item never copies the model.
/// A model it has forgotten is rebuilt from its stored snapshot and the entries after it.
/// </summary>
public sealed class ChangeEventReader(ICommandLog log, string sourceName, int cachedModels = 10_000) : IDisposable
{
    /// <summary>How many commands a history holds before the next one starts from a fresh copy.</summary>
    private const int HistoryLength = 64;

    private readonly MemoryCache _documents = new(new MemoryCacheOptions { SizeLimit = cachedModels });
    private readonly MemoryCacheEntryOptions _one = new() { Size = 1 };

    /// <summary>The change event of one entry, which must come after the model's previous entry in log order.</summary>
    public async Task<ChangeEvent> ReadAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        var known = _documents.Get<Known>(entry.Model) is { } cached && cached.Version == entry.Version - 1
            ? cached
            : Known.Start(entry.Version - 1, await RebuildAsync(entry.Model, entry.Version - 1, cancellationToken).ConfigureAwait(false));

        var path = DocumentPath.Parse(entry.Command.Path);
        var item = ItemCapture.Before(known.Document, entry.Command, path);
        JsonNode? document;
        try
        {
            document = ModelDocument.Apply(known.Document, entry.Command, path);
        }
        catch
        {
            // The command may have failed half-way through the document it changes in place.
            _documents.Remove(entry.Model);
            throw;
        }
        // A long history starts again from a copy, so that a state is never many commands from the nearest one made.
        var history = known.History.Head - known.History.From >= HistoryLength ? new ModelHistory(entry.Version, document?.DeepClone()) : known.History;
        if (ReferenceEquals(history, known.History)) history.Add(entry.Command, path);
        _documents.Set(entry.Model, new Known(entry.Version, document, history), _one);

        var isRoot = entry.Command.Path.Length == 0;
        var op = (isRoot, entry.Command.Op) switch
        {
            (true, CommandOp.Create) => ChangeOp.Create,
            (true, CommandOp.Delete) => ChangeOp.Delete,
            _ => ChangeOp.Update,
        };
        var timestamp = entry.Timestamp.ToUnixTimeMilliseconds();
        var change = new ChangeEvent
        {
            Key = entry.Model.Id,
            Op = op,
            Source = new ChangeSource { Name = sourceName, Table = entry.Model.Type, Position = entry.Position, Version = entry.Version, TsMs = timestamp },
            TsMs = timestamp,
            TraceParent = entry.Command.Meta?.GetValueOrDefault(Tracing.UnbundledTracing.MetaName),
            Item = item?.After(document),
        };
        var (previous, version) = (known.History, entry.Version);
        return change.WithStatesOnRead(() => previous.StateAt(version - 1), () => history.StateAt(version));
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

    /// <summary>A model as the reader left it: its version, its document (changed in place by the next command) and the history its events' states come from.</summary>
    private sealed record Known(long Version, JsonNode? Document, ModelHistory History)
    {
        public static Known Start(long version, JsonNode? document) => new(version, document, new ModelHistory(version, document?.DeepClone()));
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using Unbundled.Log;
using Unbundled.Model;
using Unbundled.Sdk.Events;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// Turns log entries into change events with the model's whole document before and after the
/// command, and the item of an array the command wrote (<see cref="ChangeEvent.Item"/>). It keeps the
/// documents of recently changed models (bounded). By default each change copies the model once, as it
/// is made. For a consumer that reads only the changed item (a projection narrowed to it), the reader
/// applies commands to its own document in place and copies a state only when one is read
/// (<see cref="ModelHistory"/>): a tick of one todo of a thousand then copies no todo but that one.
/// A model it has forgotten is rebuilt from its stored snapshot and the entries after it.
/// </summary>
/// <param name="log">The log the entries come from, and models are rebuilt from.</param>
/// <param name="sourceName">The source the events name.</param>
/// <param name="cachedModels">How many models' documents are kept.</param>
/// <param name="itemsField">The array whose changed item the consumer derives from, caught as <see cref="ChangeEvent.Item"/>; null: none is caught.</param>
/// <param name="copyStatesAsMade">False when the consumer reads only the changed item of most changes: states are then copied only when read.</param>
public sealed class ChangeEventReader(ICommandLog log, string sourceName, int cachedModels = 10_000, string? itemsField = null, bool copyStatesAsMade = true) : IDisposable
{
    /// <summary>How many commands a history holds at least before the next one starts from a fresh copy.</summary>
    private const int HistoryLength = 64;

    private readonly MemoryCache _documents = new(new MemoryCacheOptions { SizeLimit = cachedModels });
    private readonly MemoryCacheEntryOptions _one = new() { Size = 1 };

    /// <summary>The change event of one entry, which must come after the model's previous entry in log order.</summary>
    public async Task<ChangeEvent> ReadAsync(LogEntry entry, CancellationToken cancellationToken)
    {
        var known = _documents.Get<Known>(entry.Model) is { } cached && cached.Version == entry.Version - 1
            ? cached
            : new Known(entry.Version - 1, await RebuildAsync(entry.Model, entry.Version - 1, cancellationToken).ConfigureAwait(false), null, null);

        var path = DocumentPath.Parse(entry.Command.Path);
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
        };

        if (copyStatesAsMade)
        {
            // The document before is handed out as it is: in this mode no command changes a document in place.
            var before = known.Document;
            var caught = Catch(before, entry.Command, path, slots: null);
            var after = ModelDocument.Apply(before?.DeepClone(), entry.Command, caught?.Path ?? path);
            _documents.Set(entry.Model, new Known(entry.Version, after, null, null), _one);
            return change with { Before = before, After = after, Item = caught?.After(after) };
        }

        // The reader's own document, changed in place; one handed out before is copied once first, and starts the history.
        var (document, history, slots) = known.History is { } kept
            ? (known.Document, kept.Length >= HistoryLimit(known.Document) ? null : kept, known.Slots!)
            : (known.Document?.DeepClone(), new ModelHistory(known.Version, known.Document), new ItemSlots());
        var item = Catch(document, entry.Command, path, slots);
        var applied = item?.Path ?? path;
        try
        {
            document = ModelDocument.Apply(document, entry.Command, applied);
        }
        catch
        {
            // The command may have failed half-way through the document it changes in place.
            _documents.Remove(entry.Model);
            throw;
        }
        if (itemsField is not null) slots.Keep(entry.Command, applied, itemsField);
        var previous = known.History ?? history!;
        // A long history starts again from a copy, so that a state is never many commands from the nearest one made.
        if (history is null) history = new ModelHistory(entry.Version, document?.DeepClone());
        else history.Add(entry.Command, applied);
        _documents.Set(entry.Model, new Known(entry.Version, document, history, slots), _one);
        var version = entry.Version;
        return (change with { Item = item?.After(document) }).WithStatesOnRead(() => previous.StateAt(version - 1), () => history.StateAt(version));
    }

    // Only for a consumer deriving per item of that array: catching one costs copies of the model's other fields.
    private ItemCapture? Catch(JsonNode? document, Command command, DocumentPath path, ItemSlots? slots) =>
        itemsField is null ? null : ItemCapture.Before(document, command, path, itemsField, slots);

    /// <inheritdoc />
    public void Dispose() => _documents.Dispose();

    // A fresh copy costs the model's size, so a history holds as many commands as the model has items: copying a
    // list of a thousand todos every 64 ticks cost more than the ticks (and its garbage, more still), while the
    // commands kept stay within the size of the model itself.
    private int HistoryLimit(JsonNode? document) =>
        Math.Max(HistoryLength, itemsField is not null && document is JsonObject root && root[itemsField] is JsonArray items ? items.Count : 0);

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

    /// <summary>
    /// A model as the reader left it: its version and document, and, when the document is the reader's own (changed
    /// in place by the next command), the history its events' states come from; without one, the document was handed
    /// out and is never changed.
    /// </summary>
    /// <remarks>With a history, <paramref name="Slots"/> finds the items of the reader's own document by key.</remarks>
    private sealed record Known(long Version, JsonNode? Document, ModelHistory? History, ItemSlots? Slots);
}

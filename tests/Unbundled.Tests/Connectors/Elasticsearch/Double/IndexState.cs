using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>One stored version of a document; a null source is a delete's tombstone.</summary>
internal sealed record StoredDocument(long Version, JsonObject? Source, DateTimeOffset At, long Order);

/// <summary>
/// One concrete index. Get is real-time (Get API: realtime defaults to true) and reads <see cref="Live"/>;
/// search reads what the last refresh exposed (Near real-time search: a write is searchable only after
/// a refresh, scheduled every index.refresh_interval or asked for with _refresh). Tombstones keep a
/// deleted document's version for index.gc_deletes, after which an older external version is accepted again.
/// </summary>
internal sealed class IndexState(string name, IndexSettings settings, IndexMapping mapping)
{
    private readonly Dictionary<string, StoredDocument> _searchable = new(StringComparer.Ordinal);
    private readonly List<(string Id, StoredDocument Document)> _unrefreshed = [];
    private long _order;

    public string Name { get; } = name;

    public IndexSettings Settings { get; } = settings;

    public IndexMapping Mapping { get; } = mapping;

    /// <summary>Every document as of the last write, tombstones included.</summary>
    public Dictionary<string, StoredDocument> Live { get; } = new(StringComparer.Ordinal);

    /// <summary>The version a new external version must exceed: the document's, or its unexpired tombstone's.</summary>
    public long? HeldVersion(string id, DateTimeOffset now) =>
        Live.TryGetValue(id, out var held) && (held.Source is not null || now - held.At <= Settings.GcDeletes) ? held.Version : null;

    public void Write(string id, long version, JsonObject? source, DateTimeOffset now)
    {
        var document = new StoredDocument(version, source, now, ++_order);
        Live[id] = document;
        _unrefreshed.Add((id, document));
    }

    /// <summary>Exposes every write so far to search (_refresh, or ?refresh on a write).</summary>
    public void Refresh() => Expose(_unrefreshed.Count);

    /// <summary>The documents search sees now, after the scheduled refreshes that have come due.</summary>
    public IEnumerable<(string Id, StoredDocument Document)> Searchable(DateTimeOffset now)
    {
        if (Settings.RefreshInterval is { } interval) Expose(_unrefreshed.FindIndex(w => now - w.Document.At < interval) is var due and >= 0 ? due : _unrefreshed.Count);
        return _searchable.Where(d => d.Value.Source is not null).OrderBy(d => d.Value.Order).Select(d => (d.Key, d.Value));
    }

    private void Expose(int count)
    {
        foreach (var (id, document) in _unrefreshed.Take(count)) _searchable[id] = document;
        _unrefreshed.RemoveRange(0, count);
    }
}

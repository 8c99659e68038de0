namespace Unbundled.Connectors.Ndjson.Index;

/// <summary>
/// The in-memory index of the view: key to version and line location, never the documents, so memory
/// grows with the number of keys and not with their size.
/// </summary>
internal sealed class ViewIndex
{
    private readonly Dictionary<string, ViewEntry> _entries = new(StringComparer.Ordinal);

    /// <summary>The number of keys, tombstones included.</summary>
    public int Count => _entries.Count;

    /// <summary>What the view holds for <paramref name="key"/>, if anything.</summary>
    public bool TryGet(string key, out ViewEntry entry) => _entries.TryGetValue(key, out entry);

    /// <summary>Records <paramref name="entry"/> unless the key is held at an equal or newer version; true when recorded.</summary>
    public bool Apply(string key, ViewEntry entry)
    {
        if (_entries.TryGetValue(key, out var held) && held.Version >= entry.Version) return false;
        _entries[key] = entry;
        return true;
    }

    /// <summary>True when the line at <paramref name="offset"/> of <paramref name="file"/> is the one the view holds for <paramref name="key"/>.</summary>
    public bool IsLatest(string key, ViewFile file, long offset) =>
        _entries.TryGetValue(key, out var held) && held.File == file && held.Offset == offset;
}

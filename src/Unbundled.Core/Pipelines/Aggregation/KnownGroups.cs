using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// The contributions of the groups an aggregate store computed lately, each at the revision it computed: a change of
/// one member then recomputes its group from memory, where loading a group of a thousand members from the database
/// for every batch took most of the database's time under load (two million rows read in two minutes of the demo's
/// aggregations). A group the database holds at another revision (written by another instance) is loaded again, and so
/// is every group of a view dropped since; bounded by the number of contributions kept.
/// </summary>
internal sealed class KnownGroups : IDisposable
{
    private readonly MemoryCache _groups;
    // Bumped when a view is dropped, so that no group it kept is found again, whatever revision it is re-created at.
    private readonly ConcurrentDictionary<string, long> _epochs = new(StringComparer.Ordinal);

    /// <summary>Keeps up to <paramref name="contributions"/> contributions.</summary>
    public KnownGroups(int contributions) => _groups = new MemoryCache(new MemoryCacheOptions { SizeLimit = contributions });

    /// <summary>The members of <paramref name="group"/> of <paramref name="view"/> as computed at <paramref name="revision"/>; null when not known at that revision.</summary>
    /// <remarks>The caller changes them in place, and then either <see cref="Keep"/>s or <see cref="Forget"/>s the group.</remarks>
    public SortedDictionary<string, JsonObject>? At(string view, string group, long revision) =>
        _groups.TryGetValue(Key(view, group), out Known? known) && known!.Revision == revision ? known.Members : null;

    /// <summary>Notes that <paramref name="group"/> has <paramref name="members"/> at <paramref name="revision"/>, now committed.</summary>
    public void Keep(string view, string group, long revision, SortedDictionary<string, JsonObject> members) =>
        _groups.Set(Key(view, group), new Known(revision, members), new MemoryCacheEntryOptions { Size = members.Count + 1 });

    /// <summary>Forgets <paramref name="group"/>, whose members were changed by a transaction that did not commit.</summary>
    public void Forget(string view, string group) => _groups.Remove(Key(view, group));

    /// <summary>Forgets every group of <paramref name="view"/>, which was dropped (the entries age out of memory).</summary>
    public void ForgetView(string view) => _epochs.AddOrUpdate(view, 1, (_, epoch) => epoch + 1);

    /// <inheritdoc />
    public void Dispose() => _groups.Dispose();

    private (string View, long Epoch, string Group) Key(string view, string group) => (view, _epochs.GetValueOrDefault(view), group);

    private sealed record Known(long Revision, SortedDictionary<string, JsonObject> Members);
}

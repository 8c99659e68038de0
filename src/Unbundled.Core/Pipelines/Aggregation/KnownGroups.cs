using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// The contributions of the groups an aggregate store computed lately, each at the revision it computed: a change of
/// one member then recomputes its group from memory, where loading a group of a thousand members from the database
/// for every batch took most of the database's time under load (two million rows read in two minutes of the demo's
/// aggregations). A group the database holds at another revision (written by another instance, or dropped) is loaded
/// again; bounded by the number of contributions kept.
/// </summary>
internal sealed class KnownGroups : IDisposable
{
    private readonly MemoryCache _groups;

    /// <summary>Keeps up to <paramref name="contributions"/> contributions.</summary>
    public KnownGroups(int contributions) => _groups = new MemoryCache(new MemoryCacheOptions { SizeLimit = contributions });

    /// <summary>The members of <paramref name="group"/> of <paramref name="view"/> as computed at <paramref name="revision"/>; null when not known at that revision.</summary>
    /// <remarks>The caller changes them in place, and then either <see cref="Keep"/>s or <see cref="Forget"/>s the group.</remarks>
    public SortedDictionary<string, JsonObject>? At(string view, string group, long revision) =>
        _groups.TryGetValue((view, group), out Known? known) && known!.Revision == revision ? known.Members : null;

    /// <summary>Notes that <paramref name="group"/> has <paramref name="members"/> at <paramref name="revision"/>, now committed.</summary>
    public void Keep(string view, string group, long revision, SortedDictionary<string, JsonObject> members) =>
        _groups.Set((view, group), new Known(revision, members), new MemoryCacheEntryOptions { Size = members.Count + 1 });

    /// <summary>Forgets <paramref name="group"/>, whose members were changed by a transaction that did not commit.</summary>
    public void Forget(string view, string group) => _groups.Remove((view, group));

    /// <inheritdoc />
    public void Dispose() => _groups.Dispose();

    private sealed record Known(long Revision, SortedDictionary<string, JsonObject> Members);
}

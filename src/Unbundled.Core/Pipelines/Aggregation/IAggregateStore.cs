using System.Text.Json.Nodes;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// Where aggregating views keep their members and groups, beside the command log in the same database:
/// per member its version, group and contribution (kept after a delete, as a tombstone, so an older
/// redelivery cannot bring it back); per group its revision, document, and whether the view has it yet.
/// </summary>
public interface IAggregateStore
{
    /// <summary>
    /// Applies <paramref name="members"/> to <paramref name="view"/> in one transaction, in order, each only when
    /// its version is newer than the member's stored one; recomputes every group a member joined or left with
    /// <paramref name="compute"/>; answers every group the view does not hold yet (these, and any a crash kept
    /// from the view before), each at a revision that grows with every change of the group.
    /// </summary>
    Task<IReadOnlyList<GroupWrite>> ApplyAsync(string view, IReadOnlyList<MemberChange> members, Func<string, IReadOnlyList<JsonObject>, JsonObject?> compute,
        CancellationToken cancellationToken);

    /// <summary>Notes that the view holds these groups at these revisions.</summary>
    Task WrittenAsync(string view, IReadOnlyList<GroupWrite> written, CancellationToken cancellationToken);

    /// <summary>
    /// Marks groups as not held by the view, so the next apply hands them out again: <paramref name="groups"/>, or every group
    /// (the view's store lost its data); answers how many it marked.
    /// </summary>
    Task<int> ResendAsync(string view, IReadOnlyList<string>? groups, CancellationToken cancellationToken);

    /// <summary>Forgets everything of <paramref name="view"/> (a retired generation).</summary>
    Task DropAsync(string view, CancellationToken cancellationToken);
}

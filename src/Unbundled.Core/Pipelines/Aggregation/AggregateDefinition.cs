using Unbundled.Pipelines.Definition;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// A pipeline's <c>aggregate:</c>: the documents its projection derives are the members; each member
/// belongs to the group its <see cref="GroupBy"/> template renders (none when <see cref="Where"/> refuses it
/// or the template cannot be rendered), and the view holds one document per group with the declared fields.
/// </summary>
/// <param name="GroupBy">A template over the member, as <c>after</c> (e.g. <c>{after.customer}</c>).</param>
/// <param name="Where">Which members count, over the member as <c>after</c>; null: all of them.</param>
/// <param name="Fields">The aggregate fields of each group's document, in order.</param>
public sealed record AggregateDefinition(string GroupBy, FilterExpression? Where, IReadOnlyList<AggregateField> Fields);

/// <summary>One field of a group's document.</summary>
/// <param name="Name">The field's name.</param>
/// <param name="Function">What it computes over the group's members.</param>
/// <param name="Path">The member's value it reads (an event path over the member as <c>after</c>); null for <c>count</c>.</param>
/// <param name="OrderBy">For <c>collect</c>: the path its list is ordered by (default: the value itself).</param>
/// <param name="Descending">For <c>collect</c>: largest first.</param>
/// <param name="Limit">For <c>collect</c>: the most values it keeps.</param>
public sealed record AggregateField(string Name, AggregateFunction Function, string? Path, string? OrderBy = null, bool Descending = false, int Limit = 10);

/// <summary>What an aggregate field computes.</summary>
public enum AggregateFunction
{
    /// <summary>How many members the group has.</summary>
    Count,

    /// <summary>The sum of the members' numbers.</summary>
    Sum,

    /// <summary>The smallest value (numbers before strings).</summary>
    Min,

    /// <summary>The largest value (numbers before strings).</summary>
    Max,

    /// <summary>The mean of the members' numbers.</summary>
    Avg,

    /// <summary>A bounded list of the members' values, ordered.</summary>
    Collect,

    /// <summary>How many different values the members have.</summary>
    DistinctCount,
}

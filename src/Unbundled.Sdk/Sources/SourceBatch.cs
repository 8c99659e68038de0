using Unbundled.Sdk.Events;

namespace Unbundled.Sdk.Sources;

/// <summary>What one read of a source yields: records in order, and the offset the batch reaches.</summary>
/// <param name="Records">The records, in source order.</param>
/// <param name="Offset">The offset after this batch: that of its last record, or further when the source skipped records past it.</param>
/// <param name="CommittedAt">When the change at <paramref name="Offset"/> was committed at the origin, for lag in seconds; null when unknown.</param>
public sealed record SourceBatch(IReadOnlyList<SourceRecord> Records, long Offset, DateTimeOffset? CommittedAt = null)
{
    /// <summary>Nothing new after <paramref name="offset"/>.</summary>
    public static SourceBatch Empty(long offset) => new([], offset);

    /// <summary>
    /// True when the read stopped at its limit and more is at hand (a backlog), even if fewer records than
    /// asked for were returned because the source skipped some: the engine then reads on without waiting.
    /// </summary>
    public bool MoreAvailable { get; init; }
}

/// <summary>
/// One record of a source: a change event, or what the source read but could not turn into one (it goes
/// to the dead-letter store with <see cref="Reason"/>, and the pipeline goes on past it).
/// </summary>
/// <param name="Offset">The record's offset.</param>
/// <param name="Key">The key of the changed row or model.</param>
/// <param name="Change">The change event; null when unreadable.</param>
/// <param name="Raw">An unreadable record as the source read it, for the dead-letter store.</param>
/// <param name="Reason">Why an unreadable record could not be read.</param>
public sealed record SourceRecord(long Offset, string Key, ChangeEvent? Change, string? Raw = null, string? Reason = null)
{
    /// <summary>A readable record.</summary>
    public static SourceRecord Of(ChangeEvent change) => new(change.Source.Position, change.Key, change);

    /// <summary>A record the source could not read, with what it read and why.</summary>
    public static SourceRecord Unreadable(long offset, string key, string raw, string reason) => new(offset, key, null, raw, reason);
}

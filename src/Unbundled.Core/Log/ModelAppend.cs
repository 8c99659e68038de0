using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Log;

/// <summary>
/// The commands of one flush to one model, to be appended only if the model is still at
/// <see cref="ExpectedVersion"/>: the version is the optimistic concurrency token.
/// </summary>
/// <param name="Model">The model.</param>
/// <param name="ExpectedVersion">The version the commands were applied on top of.</param>
/// <param name="Commands">The commands, in order; they become versions ExpectedVersion+1, +2, …</param>
/// <param name="Timestamp">The time every entry of this append carries.</param>
/// <param name="Snapshot">The model's state after the commands, when the master wants it stored; null otherwise.</param>
public sealed record ModelAppend(
    ModelKey Model,
    long ExpectedVersion,
    IReadOnlyList<Command> Commands,
    DateTimeOffset Timestamp,
    ModelSnapshot? Snapshot = null)
{
    /// <summary>The model's version once appended.</summary>
    public long NewVersion => ExpectedVersion + Commands.Count;
}

/// <summary>A model's state at a version (null state: the model does not exist, or was deleted).</summary>
public sealed record ModelSnapshot(long Version, JsonNode? State);

/// <summary>Where one <see cref="ModelAppend"/> landed: its entries hold positions First..Last.</summary>
public readonly record struct AppendResult(long FirstPosition, long LastPosition);

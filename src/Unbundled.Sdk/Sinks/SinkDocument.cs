using System.Text.Json.Nodes;

namespace Unbundled.Sdk.Sinks;

/// <summary>
/// One derived document to write, or to delete. Every write is guarded by <see cref="Version"/>: a
/// sink ignores it when the view already holds that key at an equal or newer version (a delete
/// leaves a tombstone that counts), which makes replays and duplicates harmless.
/// </summary>
/// <param name="Key">The document's key in the view (an index id, a Redis key suffix, a channel).</param>
/// <param name="Version">The version guarding the write: the source model's version.</param>
/// <param name="Position">The log position of the event that produced it.</param>
/// <param name="Document">
/// The document to write; for a delete, the document as it was last derived when known (so that
/// key templates over its fields still resolve), else null.
/// </param>
/// <param name="IsDelete">True when this write removes the key.</param>
public sealed record SinkDocument(string Key, long Version, long Position, JsonObject? Document, bool IsDelete = false)
{
    /// <summary>The change this write was derived from; set only for a sink that asks (<see cref="ISinkConnector.WantsChanges"/>).</summary>
    public Events.ChangeEvent? Change { get; init; }

    /// <summary>A write of <paramref name="document"/> at <paramref name="key"/>.</summary>
    public static SinkDocument Upsert(string key, long version, long position, JsonObject document) => new(key, version, position, document);

    /// <summary>A delete of <paramref name="key"/>, carrying the last derived document when known.</summary>
    public static SinkDocument Delete(string key, long version, long position, JsonObject? lastDocument = null) =>
        new(key, version, position, lastDocument, IsDelete: true);
}

/// <summary>
/// A batch for a sink: the documents derived from the events up to and including log position
/// <see cref="Offset"/>. After the sink acknowledged it, the pipeline's offset is <see cref="Offset"/>.
/// </summary>
/// <param name="Pipeline">The pipeline writing.</param>
/// <param name="Documents">The writes, in log order. The engine sends a key once per batch (the write a version guard would keep), except to pass-through sinks; a sink must still be right when a key appears more than once.</param>
/// <param name="Offset">The last log position this batch covers.</param>
public sealed record SinkBatch(string Pipeline, IReadOnlyList<SinkDocument> Documents, long Offset)
{
    /// <summary>
    /// The offset the engine believes the view holds before this batch (-1: unknown). A sink that finds
    /// its store holding less (restarted empty, files or index deleted) must not commit the batch on
    /// top: it throws <see cref="SinkDataLostException"/> with what it really holds, and the engine replays from there.
    /// </summary>
    public long BasedOn { get; init; } = -1;

    /// <summary>
    /// The fencing token of the lease under which the batch is written (0: no lease). It grows with every
    /// owner of the pipeline, so a sink that keeps its offset stores the highest it has seen beside it and
    /// refuses a batch with a lower one (<see cref="SinkFencedException"/>): an owner that lost its lease
    /// without knowing it (paused, cut off) cannot overwrite what its successor wrote.
    /// </summary>
    public long Fence { get; init; }
}

/// <summary>The store has seen a later owner of the pipeline (fencing token <see cref="HeldFence"/>): this writer lost its lease and must stop.</summary>
public sealed class SinkFencedException(long heldFence, long fence) : Exception($"the view was written under fencing token {heldFence}, later than this writer's {fence}: another instance owns the pipeline now")
{
    /// <summary>The highest fencing token the store has seen.</summary>
    public long HeldFence { get; } = heldFence;
}

/// <summary>The sink's store no longer holds what the engine wrote (it holds <see cref="HeldOffset"/>); the engine repairs the view by replaying from there.</summary>
public sealed class SinkDataLostException(long heldOffset, string message) : Exception(message)
{
    /// <summary>The offset the store really holds (0: nothing).</summary>
    public long HeldOffset { get; } = heldOffset;
}

/// <summary>What the sink did with a batch: the writes it refused for good, each with why (they go to the dead-letter store).</summary>
public sealed record SinkBatchResult(IReadOnlyList<SinkRejection> Rejected)
{
    /// <summary>Every write was applied (or was an ignored stale write).</summary>
    public static readonly SinkBatchResult Success = new([]);
}

/// <summary>One write a sink refused permanently (a mapping error, an oversized value), with the reason.</summary>
public sealed record SinkRejection(SinkDocument Document, string Reason);

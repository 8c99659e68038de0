using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.State;

/// <summary>
/// What the engine keeps per pipeline beside the command log, in the same database: offsets of sinks
/// that cannot keep their own, and the dead-letter store. Implemented by every log store.
/// </summary>
public interface IPipelineStateStore
{
    /// <summary>Creates the tables when missing.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The pipeline's stored offset (0: none yet).</summary>
    Task<long> LoadOffsetAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the pipeline's offset (it only ever moves forward) under the writer's lease token
    /// <paramref name="fence"/> (0: no lease, not checked); throws <see cref="Sdk.Sinks.SinkFencedException"/>
    /// when the offset was stored under a later token, so a former owner stops instead of writing on.
    /// </summary>
    Task StoreOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken);

    /// <summary>Sets the pipeline's offset back to <paramref name="offset"/> (its view lost what lay beyond), fenced as <see cref="StoreOffsetAsync"/> is.</summary>
    Task RewindOffsetAsync(string pipeline, long offset, long fence, CancellationToken cancellationToken);

    /// <summary>Which generation of the pipeline's view is live, and which one a rebuild is writing (none: 0 and null).</summary>
    Task<PipelineGeneration> LoadGenerationAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>Records the live generation and the one being rebuilt, under the writer's lease token, fenced as <see cref="StoreOffsetAsync"/> is.</summary>
    Task StoreGenerationAsync(string pipeline, PipelineGeneration generation, long fence, CancellationToken cancellationToken);

    /// <summary>
    /// Adds a dead letter: an event the pipeline could not process, with the reason. One event (position
    /// and key) is stored once, however often a restart or a rebuild meets it again; false when it was there.
    /// </summary>
    Task<bool> AddDeadLetterAsync(DeadLetter letter, CancellationToken cancellationToken);

    /// <summary>Drops the pipeline's oldest dead letters beyond <paramref name="keep"/>, counting them; returns how many were ever dropped.</summary>
    Task<long> TrimDeadLettersAsync(string pipeline, long keep, CancellationToken cancellationToken);

    /// <summary>How many of the pipeline's dead letters were ever dropped to make room.</summary>
    Task<long> CountDroppedDeadLettersAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>How many dead letters the pipeline has.</summary>
    Task<long> CountDeadLettersAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>One page of the pipeline's dead letters after id <paramref name="afterId"/>, oldest first; never the whole store at once.</summary>
    Task<IReadOnlyList<DeadLetter>> ReadDeadLettersAsync(string pipeline, long afterId, int pageSize, CancellationToken cancellationToken);

    /// <summary>Removes one of the pipeline's dead letters (replayed, or dropped by an operator; not counted as dropped to make room); false when it was not there.</summary>
    Task<bool> RemoveDeadLetterAsync(string pipeline, long id, CancellationToken cancellationToken);

    /// <summary>Gives a dead letter that failed again its new reason and time.</summary>
    Task ReasonDeadLetterAsync(string pipeline, long id, string reason, DateTimeOffset failedAt, CancellationToken cancellationToken);
}

/// <summary>The live generation of a pipeline's view, the one a rebuild is writing, and the definition the live one was built from.</summary>
/// <param name="Active">The generation readers see.</param>
/// <param name="Building">The generation a rebuild is writing; null when none runs.</param>
/// <param name="Fingerprint">The fingerprint of the pipeline's definition when the live generation was built (null: not recorded yet).</param>
public sealed record PipelineGeneration(int Active, int? Building, string? Fingerprint = null)
{
    /// <summary>A pipeline that was never rebuilt.</summary>
    public static readonly PipelineGeneration First = new(0, null);
}

/// <summary>How large each pipeline's dead-letter store may grow, and what happens when it is full (section <c>Unbundled:Pipelines:DeadLetters</c>).</summary>
public sealed class DeadLetterOptions
{
    /// <summary>Most dead letters kept per pipeline.</summary>
    public long MaxPerPipeline { get; set; } = 100_000;

    /// <summary>What a full store does: drop the oldest letter (counted) or stop the pipeline.</summary>
    public DeadLettersFull WhenFull { get; set; } = DeadLettersFull.DropOldest;
}

/// <summary>What a full dead-letter store does.</summary>
public enum DeadLettersFull
{
    /// <summary>The oldest letters make room, and the number dropped is kept.</summary>
    DropOldest,

    /// <summary>The pipeline stops before it would lose a letter.</summary>
    Stop,
}

/// <summary>An event a pipeline could not process.</summary>
/// <param name="Id">The store's id (0 before it is stored).</param>
/// <param name="Pipeline">The pipeline.</param>
/// <param name="Position">The event's log position.</param>
/// <param name="Key">The event's key (model id), or the document key a sink refused.</param>
/// <param name="Event">The event, as JSON in the Debezium envelope.</param>
/// <param name="Reason">Why it failed.</param>
/// <param name="FailedAt">When.</param>
public sealed record DeadLetter(long Id, string Pipeline, long Position, string Key, string Event, string Reason, DateTimeOffset FailedAt);

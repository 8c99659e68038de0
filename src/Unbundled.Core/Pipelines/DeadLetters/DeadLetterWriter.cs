using Microsoft.Extensions.Logging;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;

namespace Unbundled.Pipelines.DeadLetters;

/// <summary>
/// Stores one pipeline's dead letters within its bound (<c>Unbundled:Pipelines:DeadLetters</c>): the
/// oldest are dropped, or the pipeline halts, when the store is full, as configured.
/// </summary>
internal sealed class DeadLetterWriter(string pipeline, IPipelineStateStore state, DeadLetterOptions bound, PipelineProgress progress,
    PipelineMonitor monitor, ILogger logger)
{
    /// <summary>Stores <paramref name="letters"/>, each once however often it is met again (a restart, a rebuild).</summary>
    public async Task StoreAsync(IReadOnlyList<DeadLetter> letters, CancellationToken cancellationToken)
    {
        if (letters.Count == 0) return;
        if (bound.WhenFull == DeadLettersFull.Stop && await state.CountDeadLettersAsync(pipeline, cancellationToken).ConfigureAwait(false) + letters.Count > bound.MaxPerPipeline)
            // Thrown, the letters are stored again with backoff (ViewWriter): the pipeline halts at this batch, with this reason in
            // its status, until there is room.
            throw new InvalidOperationException($"the dead-letter store of {pipeline} holds {bound.MaxPerPipeline} letters; empty it or raise Unbundled:Pipelines:DeadLetters:MaxPerPipeline");
        var added = 0;
        foreach (var letter in letters)
        {
            if (await state.AddDeadLetterAsync(letter, cancellationToken).ConfigureAwait(false)) added++;
        }
        if (added == 0) return;
        if (bound.WhenFull == DeadLettersFull.DropOldest) await state.TrimDeadLettersAsync(pipeline, bound.MaxPerPipeline, cancellationToken).ConfigureAwait(false);
        progress.DeadLettered(added);
        monitor.CountDeadLetters(pipeline, added);
        logger.LogError("Pipeline {Pipeline} sent {Count} event(s) to the dead-letter store; the first at position {Position}: {Reason}",
            pipeline, letters.Count, letters[0].Position, letters[0].Reason);
    }
}

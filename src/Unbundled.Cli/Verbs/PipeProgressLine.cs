using Unbundled.Pipelines.Observability;

namespace Unbundled.Cli.Verbs;

/// <summary>
/// The pipe's live line: a bar while it catches up (a snapshot, a backlog), then lag and rate. On a
/// terminal the line is redrawn in place; redirected, a line is written every few seconds.
/// </summary>
internal sealed class PipeProgressLine(TextWriter output, bool terminal)
{
    private long? _startOffset;
    private long _printedAt;

    /// <summary>Shows <paramref name="progress"/>.</summary>
    public void Show(PipelineProgress progress)
    {
        if (!terminal && Environment.TickCount64 - _printedAt < 5000) return;
        _printedAt = Environment.TickCount64;
        _startOffset ??= progress.Offset;
        var line = progress.State switch
        {
            PipelineState.Starting => "starting…",
            PipelineState.CatchingUp when progress.LagEvents > 0 => $"{Bar(progress)} {progress.Events:N0} events · {progress.EventsPerSecond:N0}/s · lag {progress.LagEvents:N0}",
            PipelineState.Faulted => $"faulted: {progress.LastError}",
            var state => $"{state.ToString().ToLowerInvariant()} · {progress.Events:N0} events · {progress.EventsPerSecond:N0}/s · lag {progress.LagEvents:N0} ({progress.LagSeconds:0.0} s)"
                + (progress.DeadLetters > 0 ? $" · {progress.DeadLetters:N0} dead letters" : ""),
        };
        if (terminal) output.Write($"\r{line,-100}");
        else output.WriteLine(line);
    }

    /// <summary>Ends the redrawn line.</summary>
    public void End()
    {
        if (terminal) output.WriteLine();
    }

    private string Bar(PipelineProgress progress)
    {
        var done = progress.Offset - _startOffset!.Value;
        var total = Math.Max(1, progress.Head - _startOffset.Value);
        var share = Math.Clamp((double)done / total, 0, 1);
        var filled = (int)(share * 30);
        return $"[{new string('#', filled)}{new string('.', 30 - filled)}] {share:P0}";
    }
}

using System.Text.Json.Serialization;
using Unbundled.Log;

namespace Unbundled.Pipelines.Observability;

/// <summary>What a pipeline's worker is doing.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PipelineState>))]
public enum PipelineState
{
    /// <summary>Connecting its sink and loading its offset.</summary>
    Starting,

    /// <summary>Processing a backlog.</summary>
    CatchingUp,

    /// <summary>Caught up with the log, waiting for new entries.</summary>
    Running,

    /// <summary>Its sink failed; retrying the same batch with backoff.</summary>
    Retrying,

    /// <summary>Stopped by its error policy after a poison event.</summary>
    Faulted,

    /// <summary>Shut down.</summary>
    Stopped,

    /// <summary>Another server instance holds the pipeline's lease and runs it; this one waits to take over.</summary>
    Standby,
}

/// <summary>
/// The live progress of one pipeline, written by its worker and read by the status API, health
/// checks, metrics and read-your-writes waits.
/// </summary>
public sealed class PipelineProgress(string pipeline)
{
    private readonly AppendSignal _advanced = new();
    private long _offset;
    private long _head;
    private long _events;
    private long _errors;
    private long _deadLetters;
    private long _lastEntryTicks;
    private double _eventsPerSecond;
    private long _rateWindowStart = Environment.TickCount64;
    private long _rateWindowEvents;

    /// <summary>The pipeline's name.</summary>
    public string Pipeline { get; } = pipeline;

    /// <summary>What the worker is doing.</summary>
    public PipelineState State { get; private set; } = PipelineState.Starting;

    /// <summary>The last source offset whose effects the view holds.</summary>
    public long Offset => Interlocked.Read(ref _offset);

    /// <summary>The newest source offset the worker knows of.</summary>
    public long Head => Math.Max(Interlocked.Read(ref _head), Offset);

    /// <summary>Events processed since start.</summary>
    public long Events => Interlocked.Read(ref _events);

    /// <summary>Failed sink writes and other errors since start.</summary>
    public long Errors => Interlocked.Read(ref _errors);

    /// <summary>Events sent to the dead-letter store since start.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    /// <summary>Events per second over the last few seconds.</summary>
    public double EventsPerSecond => Volatile.Read(ref _eventsPerSecond);

    /// <summary>The newest error's message, if any.</summary>
    public string? LastError { get; private set; }

    /// <summary>How far behind its source the view is, in offsets (log entries for the command log).</summary>
    public long LagEvents => Head - Offset;

    /// <summary>How old the oldest unprocessed change is, in seconds (0 when caught up).</summary>
    public double LagSeconds => LagEvents == 0 || Interlocked.Read(ref _lastEntryTicks) == 0
        ? 0
        : Math.Max(0, (DateTimeOffset.UtcNow - new DateTimeOffset(Interlocked.Read(ref _lastEntryTicks), TimeSpan.Zero)).TotalSeconds);

    /// <summary>Completes when the offset reaches <paramref name="position"/>, or throws on timeout.</summary>
    public async Task WaitForOffsetAsync(long position, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var next = _advanced.Next;
            if (Offset >= position) return;
            await next.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// True when the live view was built from an earlier definition of the pipeline (its projection,
    /// filter or sink options changed since): rebuild it to bring it in line.
    /// </summary>
    public bool Stale { get; private set; }

    internal void BuiltFrom(string? builtFrom, string current) => Stale = builtFrom is not null && builtFrom != current;

    /// <summary>The server instance that runs the pipeline (this one, or the lease holder while this one stands by); null when every instance runs it.</summary>
    public string? Owner { get; private set; }

    internal void OwnedBy(string? instance) => Owner = instance;

    /// <summary>The generation of the view readers see.</summary>
    public int Generation { get; private set; }

    /// <summary>The generation a rebuild is writing, if one runs.</summary>
    public int? RebuildGeneration { get; private set; }

    /// <summary>How far the running rebuild has come (a source offset).</summary>
    public long RebuildOffset => Interlocked.Read(ref _rebuildOffset);

    private long _rebuildOffset;

    internal void Rebuilding(int generation, long offset)
    {
        RebuildGeneration = generation;
        Interlocked.Exchange(ref _rebuildOffset, offset);
    }

    internal void Rebuilt() => RebuildGeneration = null;

    internal void Connected(long offset, int generation)
    {
        Generation = generation;
        Interlocked.Exchange(ref _offset, offset);
        _advanced.Notify();
    }

    internal void Enter(PipelineState state)
    {
        State = state;
        if (state == PipelineState.Running) IsRepairing = false;
    }

    /// <summary>True from finding the view's store lost data until the replay caught up with the log again.</summary>
    public bool IsRepairing { get; private set; }

    internal void SawHead(long head)
    {
        long current;
        while ((current = Interlocked.Read(ref _head)) < head && Interlocked.CompareExchange(ref _head, head, current) != current) { }
    }

    internal void Advanced(long offset, int events, DateTimeOffset lastEntryTime)
    {
        Interlocked.Exchange(ref _offset, offset);
        Interlocked.Add(ref _events, events);
        Interlocked.Exchange(ref _lastEntryTicks, lastEntryTime.UtcTicks);
        UpdateRate(events);
        _advanced.Notify();
    }

    internal void Failed(Exception error)
    {
        Interlocked.Increment(ref _errors);
        LastError = $"{error.GetType().Name}: {error.Message}";
    }

    internal void DeadLettered(int count) => Interlocked.Add(ref _deadLetters, count);

    /// <summary>How often the view's store was found to have lost data and the worker replayed to repair it.</summary>
    public int Repairs => Volatile.Read(ref _repairs);

    /// <summary>When and why the last repair began, if any.</summary>
    public string? LastRepair { get; private set; }

    private int _repairs;

    internal void Repairing(long offset, string reason)
    {
        Interlocked.Increment(ref _repairs);
        LastRepair = $"{DateTimeOffset.UtcNow:O}: {reason}; replaying from position {offset}";
        IsRepairing = true;
        Interlocked.Exchange(ref _offset, offset);
        State = PipelineState.CatchingUp;
    }

    private void UpdateRate(int events)
    {
        var now = Environment.TickCount64;
        var total = Interlocked.Add(ref _rateWindowEvents, events);
        var elapsed = now - Interlocked.Read(ref _rateWindowStart);
        if (elapsed < 1000) return;
        Volatile.Write(ref _eventsPerSecond, total * 1000.0 / elapsed);
        Interlocked.Exchange(ref _rateWindowStart, now);
        Interlocked.Exchange(ref _rateWindowEvents, 0);
    }
}

using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Unbundled.Log;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Events;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Workers;

/// <summary>
/// Keeps one declared view up to date: reads the log from the pipeline's own offset, turns entries
/// into change events, filters and projects them, writes the documents to the sink in batches, and
/// moves the offset only after the sink acknowledged. Sink trouble pauses this pipeline alone,
/// retrying the same batch with backoff; a poison event goes to the dead-letter store.
/// </summary>
public sealed class PipelineWorker : BackgroundService
{
    private readonly PipelineDefinition _definition;
    private readonly ICommandLog _log;
    private readonly IPipelineStateStore _state;
    private readonly PipelineTransform _transform;
    private readonly PipelineMonitor _monitor;
    private readonly PipelineProgress _progress;
    private readonly IServiceProvider _services;
    private readonly ILogger<PipelineWorker> _logger;
    private readonly ResiliencePipeline _sinkRetry;
    private readonly DeadLetterOptions _deadLetterBound;
    private DateTimeOffset _lastRetryWarning = DateTimeOffset.MinValue;

    /// <summary>Creates the worker of one pipeline.</summary>
    public PipelineWorker(PipelineTransform transform, ICommandLog log, IPipelineStateStore state,
        PipelineMonitor monitor, IServiceProvider services, ILogger<PipelineWorker> logger, TimeSpan? maxRetryDelay = null)
    {
        _definition = transform.Definition;
        _transform = transform;
        _log = log;
        _state = state;
        _monitor = monitor;
        _progress = monitor.Register(_definition.Name);
        _services = services;
        _logger = logger;
        _deadLetterBound = services.GetService<IOptions<DeadLetterOptions>>()?.Value ?? new DeadLetterOptions();
        _sinkRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException and not SinkDataLostException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = maxRetryDelay ?? TimeSpan.FromSeconds(30),
                OnRetry = arguments =>
                {
                    OnSinkFailure(arguments.Outcome.Exception!, arguments.AttemptNumber);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            _progress.Enter(PipelineState.Starting);
            var generation = await _state.LoadGenerationAsync(_definition.Name, stoppingToken).ConfigureAwait(false);
            _live = await OpenAsync(generation.Active, stoppingToken).ConfigureAwait(false);
            if (generation.Fingerprint is null || (_live.Sink is IPassThroughSink && generation.Fingerprint != _definition.Fingerprint))
            {
                // First start, or a sink that holds nothing derived: the view is built from this definition.
                generation = generation with { Fingerprint = _definition.Fingerprint };
                await _state.StoreGenerationAsync(_definition.Name, generation, stoppingToken).ConfigureAwait(false);
            }
            _progress.BuiltFrom(generation.Fingerprint, _definition.Fingerprint);
            _progress.Connected(_live.Sink, _live.Offset, generation.Active);
            _logger.LogInformation("Pipeline {Pipeline} resumes after position {Offset} into {Sink} (generation {Generation})",
                _definition.Name, _live.Offset, _definition.Sink.Name, generation.Active);
            if (generation.Building is { } building)
            {
                _rebuild = await OpenAsync(building, stoppingToken).ConfigureAwait(false);
                _progress.Rebuilding(building, _rebuild.Offset);
                _logger.LogInformation("Pipeline {Pipeline} resumes rebuilding generation {Generation} after position {Offset}", _definition.Name, building, _rebuild.Offset);
            }
            await RunAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: a batch in flight is abandoned and its offset not committed.
        }
        catch (Exception error)
        {
            // A bug or a broken store ends this pipeline only; the host and other pipelines go on.
            _progress.Failed(error);
            _progress.Enter(PipelineState.Faulted);
            _logger.LogError(error, "Pipeline {Pipeline} failed at offset {Offset} and stopped", _definition.Name, _progress.Offset);
        }
        finally
        {
            if (_progress.State != PipelineState.Faulted) _progress.Enter(PipelineState.Stopped);
            foreach (var target in new[] { _live, _rebuild, _retired }.OfType<ViewTarget>()) await target.DisposeAsync().ConfigureAwait(false);
            _logger.LogInformation("Pipeline {Pipeline} stopped at offset {Offset}", _definition.Name, _progress.Offset);
        }
    }

    private ViewTarget? _live;
    private ViewTarget? _rebuild;
    private ViewTarget? _retired;

    /// <summary>Creates, connects and positions the sink of one generation of the view.</summary>
    private async Task<ViewTarget> OpenAsync(int generation, CancellationToken cancellationToken)
    {
        var sink = _definition.Sink.Connector.Create(_definition.Sink.Options, new SinkContext(_definition.Name, _services) { Generation = generation, OwnerField = _definition.Owner });
        var offsetName = generation == 0 ? _definition.Name : $"{_definition.Name}#generation-{generation}";
        var offset = await _sinkRetry.ExecuteAsync(async token =>
        {
            await sink.ConnectAsync(token).ConfigureAwait(false);
            return sink.KeepsOffset
                ? await sink.LoadOffsetAsync(token).ConfigureAwait(false)
                : await _state.LoadOffsetAsync(offsetName, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return new ViewTarget(generation, sink, new ChangeEventReader(_log, _definition.Source.Name), offsetName) { Offset = offset };
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var caughtUp = false;
        var caughtUpBefore = false;
        var headSeen = 0L;
        Task<IReadOnlyList<LogEntry>>? prefetched = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (_rebuild is null && _progress.TakeRebuildRequest()) await StartRebuildAsync(stoppingToken).ConfigureAwait(false);

            var live = _live!;
            var entries = await (prefetched ?? ReadBatchAsync(live.Offset, stoppingToken)).ConfigureAwait(false);
            prefetched = null;
            if (entries.Count > 0)
            {
                caughtUp = false;
                if (entries.Count == _definition.Batch.MaxSize && _rebuild is null)
                {
                    // A backlog: read the next batch while this one is projected and written.
                    prefetched = ReadBatchAsync(entries[^1].Position, stoppingToken);
                }
                if (entries.Count == _definition.Batch.MaxSize)
                {
                    _progress.Enter(PipelineState.CatchingUp);
                    if (Environment.TickCount64 - headSeen > 1000)
                    {
                        _progress.SawHead(await _log.ReadHeadAsync(stoppingToken).ConfigureAwait(false));
                        headSeen = Environment.TickCount64;
                    }
                }
                else
                {
                    _progress.SawHead(entries[^1].Position);
                }

                (long Offset, bool Poisoned) processed;
                try
                {
                    processed = await ProcessAsync(live, entries, live: true, stoppingToken).ConfigureAwait(false);
                }
                catch (SinkDataLostException lost)
                {
                    await RepairAsync(live, lost, stoppingToken).ConfigureAwait(false);
                    if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    prefetched = null;
                    continue;
                }
                live.Offset = processed.Offset;
                if (processed.Poisoned)
                {
                    _progress.Enter(PipelineState.Faulted);
                    _logger.LogError("Pipeline {Pipeline} stopped at a poison event after position {Offset}, as its error policy says; the event is in the dead-letter store",
                        _definition.Name, live.Offset);
                    if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    return;
                }
            }

            if (_rebuild is not null)
            {
                // The rebuild advances one batch per turn, between live batches, and swaps in once it has
                // reached what the live generation holds: readers never see an empty or partial view.
                await RebuildStepAsync(stoppingToken).ConfigureAwait(false);
                continue;
            }
            if (entries.Count > 0) continue;

            // The first catch-up after start is news; the ones after each idle flush are not.
            if (!caughtUp) _logger.Log(caughtUpBefore ? LogLevel.Debug : LogLevel.Information, "Pipeline {Pipeline} caught up at position {Offset}", _definition.Name, live.Offset);
            caughtUp = caughtUpBefore = true;
            _progress.Enter(PipelineState.Running);
            await Task.WhenAny(_log.WaitForEntriesAsync(live.Offset, stoppingToken), _progress.RebuildRequested).ConfigureAwait(false);
            stoppingToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// The view's store lost what it held: the worker goes back to what the store really holds and
    /// replays the log from there; version guards make the replay exact. Said in logs, metrics and status.
    /// </summary>
    private async Task RepairAsync(ViewTarget target, SinkDataLostException lost, CancellationToken cancellationToken)
    {
        _logger.LogError("Pipeline {Pipeline}: {Reason}; its view holds offset {Held}, not {Believed}: replaying the log from there to repair it",
            _definition.Name, lost.Message, lost.HeldOffset, target.Offset);
        target.Offset = Math.Min(target.Offset, lost.HeldOffset);
        if (!target.Sink.KeepsOffset) await _state.StoreOffsetAsync(target.OffsetName, target.Offset, cancellationToken).ConfigureAwait(false);
        _progress.Repairing(target.Offset, lost.Message);
        _monitor.CountRepair(_definition.Name);
    }

    private async Task StartRebuildAsync(CancellationToken cancellationToken)
    {
        var generation = _live!.Generation + 1;
        var stored = await _state.LoadGenerationAsync(_definition.Name, cancellationToken).ConfigureAwait(false);
        await _state.StoreGenerationAsync(_definition.Name, stored with { Building = generation }, cancellationToken).ConfigureAwait(false);
        _rebuild = await OpenAsync(generation, cancellationToken).ConfigureAwait(false);
        _progress.Rebuilding(generation, _rebuild.Offset);
        _logger.LogInformation("Pipeline {Pipeline} rebuilds its view as generation {Generation} from the start of the log", _definition.Name, generation);
    }

    private async Task RebuildStepAsync(CancellationToken cancellationToken)
    {
        var rebuild = _rebuild!;
        // Several rebuild batches per live batch: a rebuild sharing turns evenly with a saturated live
        // pipeline would never catch up with it.
        for (var step = 0; step < RebuildBatchesPerTurn && rebuild.Offset < _live!.Offset; step++)
        {
            var entries = await _log.ReadAsync(rebuild.Offset, _definition.Batch.MaxSize, cancellationToken).ConfigureAwait(false);
            var target = entries.Where(e => e.Position <= _live.Offset).ToList();
            if (target.Count == 0) break;
            rebuild.Offset = (await ProcessAsync(rebuild, target, live: false, cancellationToken).ConfigureAwait(false)).Offset;
            _progress.Rebuilding(rebuild.Generation, rebuild.Offset);
        }
        if (rebuild.Offset < _live!.Offset) return;

        var old = _retired = _live;
        await ((IGenerationalSink)rebuild.Sink).ActivateAsync(cancellationToken).ConfigureAwait(false);
        await _state.StoreGenerationAsync(_definition.Name, new PipelineGeneration(rebuild.Generation, null, _definition.Fingerprint), cancellationToken).ConfigureAwait(false);
        _progress.BuiltFrom(_definition.Fingerprint, _definition.Fingerprint);
        (_live, _rebuild) = (rebuild, null);
        _progress.Connected(rebuild.Sink, rebuild.Offset, rebuild.Generation);
        _progress.Rebuilt();
        _logger.LogInformation("Pipeline {Pipeline} now serves generation {Generation}; generation {Old} is dropped", _definition.Name, rebuild.Generation, old.Generation);
        // Reads already switched to the new sink; give reads in flight on the old one a moment before dropping it.
        await Task.Delay(RebuildGracePeriod, cancellationToken).ConfigureAwait(false);
        await ((IGenerationalSink)old.Sink).DropAsync(cancellationToken).ConfigureAwait(false);
        await old.DisposeAsync().ConfigureAwait(false);
        _retired = null;
    }

    private const int RebuildBatchesPerTurn = 4;

    /// <summary>How long an old generation stays after a rebuild swapped it out.</summary>
    public static TimeSpan RebuildGracePeriod { get; set; } = TimeSpan.FromSeconds(2);

    private async Task<IReadOnlyList<LogEntry>> ReadBatchAsync(long offset, CancellationToken cancellationToken)
    {
        var entries = await _log.ReadAsync(offset, _definition.Batch.MaxSize, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0 || entries.Count == _definition.Batch.MaxSize || _definition.Batch.MaxDelay <= TimeSpan.Zero) return entries;

        // Some entries are at hand: wait a little for more so that a trickle still makes batches.
        await Task.Delay(_definition.Batch.MaxDelay, cancellationToken).ConfigureAwait(false);
        var more = await _log.ReadAsync(entries[^1].Position, _definition.Batch.MaxSize - entries.Count, cancellationToken).ConfigureAwait(false);
        return more.Count == 0 ? entries : [.. entries, .. more];
    }

    private async Task<(long Offset, bool Poisoned)> ProcessAsync(ViewTarget target, IReadOnlyList<LogEntry> entries, bool live, CancellationToken cancellationToken)
    {
        var (sink, events) = (target.Sink, target.Events);
        var documents = new List<SinkDocument>();
        var sources = new Dictionary<long, ChangeEvent>();
        var deadLetters = new List<DeadLetter>();
        var covered = entries[^1];
        var poisoned = false;
        foreach (var entry in entries)
        {
            if (!_transform.Reads(entry)) continue;
            ChangeEvent? change = null;
            try
            {
                change = await events.ReadAsync(entry, cancellationToken).ConfigureAwait(false);
                if (_transform.Admit(change) is { } admitted)
                {
                    documents.AddRange(_transform.Project(admitted));
                    sources[entry.Position] = admitted;
                }
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                var described = change is null ? DescribeEntry(entry) : JsonSerializer.Serialize(change);
                deadLetters.Add(new DeadLetter(0, _definition.Name, entry.Position, entry.Model.Id, described, $"{error.GetType().Name}: {error.Message}", DateTimeOffset.UtcNow));
                if (live && _definition.OnError == ErrorPolicy.Stop)
                {
                    poisoned = true;
                    break;
                }
            }
        }

        // Dead letters are stored before the offset moves past them, so none is lost in a crash.
        await StoreDeadLettersAsync(deadLetters, cancellationToken).ConfigureAwait(false);
        if (poisoned)
        {
            // The poison event stays unprocessed: the offset stops just before it.
            var poison = deadLetters[^1].Position;
            var before = entries.LastOrDefault(e => e.Position < poison);
            if (before is null) return (target.Offset, true);
            covered = before;
        }

        var batch = new SinkBatch(_definition.Name, documents, covered.Position) { BasedOn = target.Offset };
        var result = await _sinkRetry.ExecuteAsync(async token => await sink.WriteAsync(batch, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        // A refused document is stored with the event it came from, and why the sink refused it.
        await StoreDeadLettersAsync(result.Rejected.Select(r => new DeadLetter(0, _definition.Name, r.Document.Position, r.Document.Key,
            sources.TryGetValue(r.Document.Position, out var source) ? JsonSerializer.Serialize(source) : JsonSerializer.Serialize(r.Document.Document),
            r.Reason, DateTimeOffset.UtcNow)).ToList(), cancellationToken).ConfigureAwait(false);
        if (!sink.KeepsOffset) await _state.StoreOffsetAsync(target.OffsetName, batch.Offset, cancellationToken).ConfigureAwait(false);
        if (!live) return (batch.Offset, false);

        if (_progress.State == PipelineState.Retrying)
            _logger.LogInformation("Pipeline {Pipeline} wrote to {Sink} again after failures", _definition.Name, _definition.Sink.Name);
        _progress.Enter(PipelineState.CatchingUp);
        _progress.Advanced(batch.Offset, entries.Count, covered.Timestamp);
        _monitor.CountEvents(_definition.Name, entries.Count);
        return (batch.Offset, poisoned);
    }

    private async Task StoreDeadLettersAsync(List<DeadLetter> letters, CancellationToken cancellationToken)
    {
        if (letters.Count == 0) return;
        var bound = _deadLetterBound;
        if (bound.WhenFull == DeadLettersFull.Stop && await _state.CountDeadLettersAsync(_definition.Name, cancellationToken).ConfigureAwait(false) + letters.Count > bound.MaxPerPipeline)
            // Thrown, the batch is retried with backoff: the pipeline halts here, with this reason in its status, until there is room.
            throw new InvalidOperationException($"the dead-letter store of {_definition.Name} holds {bound.MaxPerPipeline} letters; empty it or raise Unbundled:Pipelines:DeadLetters:MaxPerPipeline");
        var added = 0;
        // A letter met again (a restart, a rebuild) is stored once and counted once.
        foreach (var letter in letters)
        {
            if (await _state.AddDeadLetterAsync(letter, cancellationToken).ConfigureAwait(false)) added++;
        }
        if (added == 0) return;
        if (bound.WhenFull == DeadLettersFull.DropOldest) await _state.TrimDeadLettersAsync(_definition.Name, bound.MaxPerPipeline, cancellationToken).ConfigureAwait(false);
        _progress.DeadLettered(added);
        _monitor.CountDeadLetters(_definition.Name, added);
        _logger.LogError("Pipeline {Pipeline} sent {Count} event(s) to the dead-letter store; the first at position {Position}: {Reason}",
            _definition.Name, letters.Count, letters[0].Position, letters[0].Reason);
    }

    private void OnSinkFailure(Exception error, int attempt)
    {
        _progress.Enter(PipelineState.Retrying);
        _progress.Failed(error);
        _monitor.CountError(_definition.Name);
        // One warning when trouble starts, then one every 30 s, not one per attempt.
        var now = DateTimeOffset.UtcNow;
        if (attempt > 0 && now - _lastRetryWarning < TimeSpan.FromSeconds(30)) return;
        _lastRetryWarning = now;
        _logger.LogWarning(error, "Pipeline {Pipeline} cannot write to {Sink} (attempt {Attempt}); retrying with backoff, other pipelines go on",
            _definition.Name, _definition.Sink.Name, attempt + 1);
    }

    /// <summary>One generation of the view: its sink, its own change-event reader, and where its offset is kept.</summary>
    private sealed class ViewTarget(int generation, ISinkConnector sink, ChangeEventReader events, string offsetName) : IAsyncDisposable
    {
        public int Generation { get; } = generation;

        public ISinkConnector Sink { get; } = sink;

        public ChangeEventReader Events { get; } = events;

        public string OffsetName { get; } = offsetName;

        public long Offset { get; set; }

        public async ValueTask DisposeAsync()
        {
            Events.Dispose();
            await Sink.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static string DescribeEntry(LogEntry entry) => JsonSerializer.Serialize(new
    {
        position = entry.Position,
        model = new { type = entry.Model.Type, id = entry.Model.Id },
        version = entry.Version,
        command = JsonSerializer.SerializeToNode(entry.Command),
        ts_ms = entry.Timestamp.ToUnixTimeMilliseconds(),
    });
}

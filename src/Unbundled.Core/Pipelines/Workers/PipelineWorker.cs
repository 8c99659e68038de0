using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Unbundled.Log;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Events;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
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
    private readonly IProjection _projection;
    private readonly PipelineMonitor _monitor;
    private readonly PipelineProgress _progress;
    private readonly IServiceProvider _services;
    private readonly ILogger<PipelineWorker> _logger;
    private readonly ResiliencePipeline _sinkRetry;
    private readonly HashSet<string> _models;
    private DateTimeOffset _lastRetryWarning = DateTimeOffset.MinValue;

    /// <summary>Creates the worker of one pipeline.</summary>
    public PipelineWorker(PipelineDefinition definition, ICommandLog log, IPipelineStateStore state, IProjection projection,
        PipelineMonitor monitor, IServiceProvider services, ILogger<PipelineWorker> logger, TimeSpan? maxRetryDelay = null)
    {
        _definition = definition;
        _log = log;
        _state = state;
        _projection = projection;
        _monitor = monitor;
        _progress = monitor.Register(definition.Name);
        _services = services;
        _logger = logger;
        _models = definition.Source.Models.ToHashSet(StringComparer.Ordinal);
        _sinkRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
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
        var sink = _definition.Sink.Connector.Create(_definition.Sink.Options, new SinkContext(_definition.Name, _services));
        try
        {
            await RunAsync(sink, stoppingToken).ConfigureAwait(false);
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
            await sink.DisposeAsync().ConfigureAwait(false);
            _logger.LogInformation("Pipeline {Pipeline} stopped at offset {Offset}", _definition.Name, _progress.Offset);
        }
    }

    private async Task RunAsync(ISinkConnector sink, CancellationToken stoppingToken)
    {
        _progress.Enter(PipelineState.Starting);
        var offset = await _sinkRetry.ExecuteAsync(async token =>
        {
            await sink.ConnectAsync(token).ConfigureAwait(false);
            return sink.KeepsOffset
                ? await sink.LoadOffsetAsync(token).ConfigureAwait(false)
                : await _state.LoadOffsetAsync(_definition.Name, token).ConfigureAwait(false);
        }, stoppingToken).ConfigureAwait(false);
        _progress.Connected(sink, offset);
        _logger.LogInformation("Pipeline {Pipeline} resumes after position {Offset} into {Sink}", _definition.Name, offset, _definition.Sink.Name);

        using var events = new ChangeEventReader(_log, _definition.Source.Name);
        var caughtUp = false;
        var caughtUpBefore = false;
        var headSeen = 0L;
        Task<IReadOnlyList<LogEntry>>? prefetched = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            var entries = await (prefetched ?? ReadBatchAsync(offset, stoppingToken)).ConfigureAwait(false);
            prefetched = null;
            if (entries.Count == 0)
            {
                // The first catch-up after start is news; the ones after each idle flush are not.
                if (!caughtUp)
                {
                    _logger.Log(caughtUpBefore ? LogLevel.Debug : LogLevel.Information, "Pipeline {Pipeline} caught up at position {Offset}", _definition.Name, offset);
                }
                caughtUp = caughtUpBefore = true;
                _progress.Enter(PipelineState.Running);
                await _log.WaitForEntriesAsync(offset, stoppingToken).ConfigureAwait(false);
                continue;
            }
            caughtUp = false;
            if (entries.Count == _definition.Batch.MaxSize)
            {
                // A backlog: read the next batch while this one is projected and written.
                prefetched = ReadBatchAsync(entries[^1].Position, stoppingToken);
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

            var processed = await ProcessAsync(sink, entries, events, stoppingToken).ConfigureAwait(false);
            offset = processed.Offset;
            if (processed.Poisoned)
            {
                _progress.Enter(PipelineState.Faulted);
                _logger.LogError("Pipeline {Pipeline} stopped at a poison event after position {Offset}, as its error policy says; the event is in the dead-letter store",
                    _definition.Name, offset);
                if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                return;
            }
        }
    }

    private async Task<IReadOnlyList<LogEntry>> ReadBatchAsync(long offset, CancellationToken cancellationToken)
    {
        var entries = await _log.ReadAsync(offset, _definition.Batch.MaxSize, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0 || entries.Count == _definition.Batch.MaxSize || _definition.Batch.MaxDelay <= TimeSpan.Zero) return entries;

        // Some entries are at hand: wait a little for more so that a trickle still makes batches.
        await Task.Delay(_definition.Batch.MaxDelay, cancellationToken).ConfigureAwait(false);
        var more = await _log.ReadAsync(entries[^1].Position, _definition.Batch.MaxSize - entries.Count, cancellationToken).ConfigureAwait(false);
        return more.Count == 0 ? entries : [.. entries, .. more];
    }

    private async Task<(long Offset, bool Poisoned)> ProcessAsync(ISinkConnector sink, IReadOnlyList<LogEntry> entries, ChangeEventReader events, CancellationToken cancellationToken)
    {
        var documents = new List<SinkDocument>();
        var sources = new Dictionary<long, ChangeEvent>();
        var deadLetters = new List<DeadLetter>();
        var covered = entries[^1];
        var poisoned = false;
        foreach (var entry in entries)
        {
            if (_models.Count > 0 && !_models.Contains(entry.Model.Type)) continue;
            ChangeEvent? change = null;
            try
            {
                change = await events.ReadAsync(entry, cancellationToken).ConfigureAwait(false);
                if (Admit(change) is { } admitted)
                {
                    documents.AddRange(_projection.Project(admitted));
                    sources[entry.Position] = admitted;
                }
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                var described = change is null ? DescribeEntry(entry) : JsonSerializer.Serialize(change);
                deadLetters.Add(new DeadLetter(0, _definition.Name, entry.Position, entry.Model.Id, described, $"{error.GetType().Name}: {error.Message}", DateTimeOffset.UtcNow));
                if (_definition.OnError == ErrorPolicy.Stop)
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
            if (before is null) return (_progress.Offset, true);
            covered = before;
        }

        var batch = new SinkBatch(_definition.Name, documents, covered.Position);
        var result = await _sinkRetry.ExecuteAsync(async token => await sink.WriteAsync(batch, token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        // A refused document is stored with the event it came from, and why the sink refused it.
        await StoreDeadLettersAsync(result.Rejected.Select(r => new DeadLetter(0, _definition.Name, r.Document.Position, r.Document.Key,
            sources.TryGetValue(r.Document.Position, out var source) ? JsonSerializer.Serialize(source) : JsonSerializer.Serialize(r.Document.Document),
            r.Reason, DateTimeOffset.UtcNow)).ToList(), cancellationToken).ConfigureAwait(false);
        if (!sink.KeepsOffset) await _state.StoreOffsetAsync(_definition.Name, batch.Offset, cancellationToken).ConfigureAwait(false);

        if (_progress.State == PipelineState.Retrying)
            _logger.LogInformation("Pipeline {Pipeline} wrote to {Sink} again after failures", _definition.Name, _definition.Sink.Name);
        _progress.Enter(PipelineState.CatchingUp);
        _progress.Advanced(batch.Offset, entries.Count, covered.Timestamp);
        _monitor.CountEvents(_definition.Name, entries.Count);
        return (batch.Offset, poisoned);
    }

    /// <summary>
    /// The filter decides which models belong to the view. A model that matched before the change and
    /// no longer does must leave the view, so the change is projected as its deletion.
    /// </summary>
    private ChangeEvent? Admit(ChangeEvent change)
    {
        if (_definition.Where is not { } where || where.Evaluate(change)) return change;
        var matchedBefore = change.Before is not null && where.Evaluate(change with { After = change.Before });
        return matchedBefore ? change with { Op = ChangeOp.Delete, After = null } : null;
    }

    private async Task StoreDeadLettersAsync(List<DeadLetter> letters, CancellationToken cancellationToken)
    {
        if (letters.Count == 0) return;
        foreach (var letter in letters) await _state.AddDeadLetterAsync(letter, cancellationToken).ConfigureAwait(false);
        _progress.DeadLettered(letters.Count);
        _monitor.CountDeadLetters(_definition.Name, letters.Count);
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

    private static string DescribeEntry(LogEntry entry) => JsonSerializer.Serialize(new
    {
        position = entry.Position,
        model = new { type = entry.Model.Type, id = entry.Model.Id },
        version = entry.Version,
        command = JsonSerializer.SerializeToNode(entry.Command),
        ts_ms = entry.Timestamp.ToUnixTimeMilliseconds(),
    });
}

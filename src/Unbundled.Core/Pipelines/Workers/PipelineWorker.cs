using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using System.Threading.Channels;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.Joins;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Leases;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.Rebuild;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;
using Unbundled.Pipelines.Projection;

namespace Unbundled.Pipelines.Workers;

/// <summary>
/// Keeps one declared view up to date: reads change events from the pipeline's source after its own
/// offset, and hands each batch to the <see cref="ViewWriter"/>, which moves the offset only after the
/// sink acknowledged. Sink trouble pauses this pipeline alone, retrying the same batch with backoff; a
/// poison event goes to the dead-letter store. Rebuilds run between live batches (<see cref="ViewRebuild"/>).
/// </summary>
public sealed class PipelineWorker : BackgroundService
{
    private readonly PipelineDefinition _definition;
    private readonly IPipelineStateStore _state;
    private readonly PipelineMonitor _monitor;
    private readonly PipelineProgress _progress;
    private readonly PipelineView _view;
    private readonly RebuildRequest _rebuildRequest;
    private bool _rebuildAgain;
    private readonly IServiceProvider _services;
    private readonly ILogger<PipelineWorker> _logger;
    private readonly ResiliencePipeline _sinkRetry;
    private readonly PipelineTransform _transform;
    private readonly ViewWriter _writer;
    private readonly ViewRebuild _rebuild;
    private readonly ChannelReader<DeadLetterReplays.ReplayRequest> _replays;
    private readonly DeadLetterReplayer _replayer;
    private DateTimeOffset _lastRetryWarning = DateTimeOffset.MinValue;
    private ViewTarget? _live;
    private Task? _headRead;
    private long _batches;
    private long _fence;
    private bool _fenced;
    // Runs that ended on an outage of the source or the state store since a batch was last written: the next run starts
    // after a pause that grows with them.
    private int _outages;

    /// <summary>How often a standby instance looks whether the owner made another generation of the view active.</summary>
    private static readonly TimeSpan StandbyRefresh = TimeSpan.FromSeconds(2);

    /// <summary>Creates the worker of one pipeline.</summary>
    public PipelineWorker(PipelineTransform transform, IPipelineStateStore state, PipelineMonitor monitor, PipelineViews views, RebuildRequests rebuilds, DeadLetterReplays replays, IServiceProvider services,
        ILogger<PipelineWorker> logger, TimeSpan? maxRetryDelay = null)
    {
        _definition = transform.Definition;
        _state = state;
        _monitor = monitor;
        _progress = monitor.Register(_definition.Name, (_definition.Source.Name, _definition.Source.Connector.Name), (_definition.Sink.Name, _definition.Sink.Connector.Name));
        _view = views.Register(_definition.Name);
        _rebuildRequest = rebuilds.Register(_definition.Name);
        _services = services;
        _logger = logger;
        _sinkRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                // A connector's refusal (a table without a key) is no outage: retrying it would only repeat it.
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException and not SinkDataLostException and not SinkFencedException and not Sdk.ConnectorRefusedException),
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
        var bound = services.GetService<IOptions<DeadLetterOptions>>()?.Value ?? new DeadLetterOptions();
        var clock = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var aggregation = _definition.Aggregate is { } aggregate
            ? new ViewAggregation(new Aggregator(aggregate), services.GetService<IAggregateStore>()
                ?? throw new InvalidOperationException($"pipeline '{_definition.Name}' aggregates, and its log store keeps no aggregate state"), _definition.Name,
                _definition.Sink.Connector.RunsOnEveryInstance ? services.GetService<IOptions<PipelineLeaseOptions>>()?.Value.Instance ?? Environment.MachineName : null)
            : null;
        var join = _definition.Join is { } joined
            ? new ViewJoin(joined, services.GetService<IJoinStore>()
                ?? throw new InvalidOperationException($"pipeline '{_definition.Name}' joins, and its log store keeps no join state"), _definition.Name)
            : null;
        _transform = transform;
        _writer = new ViewWriter(transform, new DeadLetterWriter(_definition.Name, state, bound, _progress, monitor, logger), _sinkRetry, clock, Truncated, aggregation, join);
        _replays = replays.Register(_definition.Name);
        _replayer = new DeadLetterReplayer(transform, state, _sinkRetry, clock, aggregation, join);
        _rebuild = new ViewRebuild(_definition, state, _progress, _view, _rebuildRequest, _writer, _sinkRetry, OpenAsync, logger);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Every line this worker logs carries its pipeline, source and sink, for structured log stores to filter on.
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["Pipeline"] = _definition.Name, ["Source"] = _definition.Source.Name, ["Sink"] = _definition.Sink.Name });
        // A feed serves this instance's clients and a consumer group shares its partitions: those run everywhere.
        var leases = _definition.Source.Connector.RunsOnEveryInstance || _definition.Sink.Connector.RunsOnEveryInstance ? null : _services.GetService<IPipelineLeases>();
        if (leases is null)
        {
            while (await RunViewAsync(stoppingToken).ConfigureAwait(false) && await PausedAfterOutageAsync(stoppingToken).ConfigureAwait(false))
            {
                // An outage ended the run: the view opens again.
            }
            // Without a lease there is no successor to stand by for: a store fenced by a later owner (another deployment
            // on the same Redis prefix) stops the pipeline for an operator to look at.
            if (_fenced) _progress.Enter(PipelineState.Faulted);
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            _progress.Enter(PipelineState.Standby);
            IPipelineLease lease;
            var standby = new StandbyReads(_definition, _state, _view, _services, _logger);
            try
            {
                var acquiring = leases.AcquireAsync(_definition.Name, owner => _progress.OwnedBy(owner), stoppingToken);
                while (!acquiring.IsCompleted)
                {
                    await standby.RefreshAsync(stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    await Task.WhenAny(acquiring, Task.Delay(StandbyRefresh, stoppingToken)).ConfigureAwait(false);
                }
                lease = await acquiring.ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { break; }
            catch (Exception error)
            {
                // The log's database is out of reach: no instance can take the lease either; try again shortly.
                _progress.Failed(error);
                _logger.LogWarning(error, "Pipeline {Pipeline} cannot reach its lease; trying again", _definition.Name);
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }
            finally
            {
                await standby.DisposeAsync().ConfigureAwait(false);
            }
            try
            {
                _progress.OwnedBy(leases.Instance);
                (_fence, _fenced) = (lease.Fence, false);
                using var owned = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease.Lost);
                var outage = await RunViewAsync(owned.Token).ConfigureAwait(false);
                if (lease.Lost.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
                    _logger.LogWarning("Pipeline {Pipeline} lost its lease (its database session broke) and stopped writing; another instance may take it over", _definition.Name);
                if (_progress.State == PipelineState.Faulted) return;
                if (outage) await PausedAfterOutageAsync(stoppingToken).ConfigureAwait(false);
                // Fenced out: the owner that wrote later may still hold the lease; standing by a moment keeps this
                // instance from taking and giving it back in a tight loop meanwhile.
                if (_fenced) await Task.Delay(StandbyRefresh, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            finally
            {
                // Releasing a lease whose session broke fails; the lock went with the session anyway.
                try { await lease.DisposeAsync().ConfigureAwait(false); }
                catch (Exception error) when (error is not OperationCanceledException)
                {
                    _logger.LogDebug(error, "Pipeline {Pipeline}: releasing a lost lease failed", _definition.Name);
                }
            }
        }
    }

    /// <summary>
    /// Runs the view until <paramref name="runToken"/> fires (shutdown, or a lost lease) or the pipeline faults; answers
    /// whether it ended on an outage of its source or state store, after which it is to run again.
    /// </summary>
    private async Task<bool> RunViewAsync(CancellationToken runToken)
    {
        try
        {
            _progress.Enter(PipelineState.Starting);
            var stored = await _state.LoadGenerationAsync(_definition.Name, runToken).ConfigureAwait(false);
            var generation = stored;
            _live = await OpenAsync(generation.Active, runToken).ConfigureAwait(false);
            // First start, or a sink that holds nothing derived: the view is built from this definition.
            if (generation.Fingerprint is null || (_live.Sink is IPassThroughSink && generation.Fingerprint != _definition.Fingerprint))
                generation = generation with { Fingerprint = _definition.Fingerprint };
            // Stored under this lease's token even when unchanged, so that a former owner's rebuild swap is refused from now on.
            if (generation.Fingerprint != stored.Fingerprint || _fence > 0)
                await _state.StoreGenerationAsync(_definition.Name, generation, _fence, runToken).ConfigureAwait(false);
            _progress.BuiltFrom(generation.Fingerprint, _definition.Fingerprint);
            _view.Serve(_live.Sink);
            _progress.Connected(_live.Offset.Value, generation.Active);
            _logger.LogInformation("Pipeline {Pipeline} resumes after offset {Offset} of source {Source} into {Sink} (generation {Generation})",
                _definition.Name, _live.Offset.Value, _definition.Source.Name, _definition.Sink.Name, generation.Active);
            if (generation.Building is { } building) await _rebuild.ResumeAsync(building, runToken).ConfigureAwait(false);
            await RunAsync(runToken).ConfigureAwait(false);
            return false;
        }
        catch (OperationCanceledException) when (runToken.IsCancellationRequested)
        {
            // Shutting down, or the lease is lost: a batch in flight is abandoned and its offset not committed.
            return false;
        }
        catch (SinkFencedException fenced)
        {
            // The store saw a later owner: this instance lost the lease without noticing yet (a pause, a partition).
            // It stops writing; the loop gives the lease up and stands by like any other instance.
            _logger.LogError("Pipeline {Pipeline} stopped writing: {Reason}", _definition.Name, fenced.Message);
            _progress.Failed(fenced);
            _fenced = true;
            return false;
        }
        catch (Exception error) when (IsOutage(error))
        {
            // The source or the log's database out of reach (a restart, a failover): the view opens again after a pause,
            // as a sink's write is retried. Ended for good, the pipeline stayed stopped until the process restarted.
            _progress.Failed(error);
            _outages++;
            _logger.LogWarning(error, "Pipeline {Pipeline} lost its source or state store at offset {Offset}; it starts again shortly", _definition.Name, _progress.Offset);
            return true;
        }
        catch (Exception error)
        {
            // A bug or a broken store ends this pipeline only; the host and other pipelines go on.
            _progress.Failed(error);
            _progress.Enter(PipelineState.Faulted);
            _logger.LogError(error, "Pipeline {Pipeline} failed at offset {Offset} and stopped", _definition.Name, _progress.Offset);
            return false;
        }
        finally
        {
            if (_progress.State != PipelineState.Faulted) _progress.Enter(PipelineState.Stopped);
            // A lost lease leaves the instance up: its readers must not reach the sink disposed here.
            _view.Withdraw();
            if (_live is not null) await _live.DisposeAsync().ConfigureAwait(false);
            _live = null;
            await _rebuild.DisposeAsync().ConfigureAwait(false);
            _logger.LogInformation("Pipeline {Pipeline} stopped at offset {Offset}", _definition.Name, _progress.Offset);
        }
    }

    private Task<ViewTarget> OpenAsync(int generation, CancellationToken cancellationToken) =>
        ViewTarget.OpenAsync(_transform, generation, _fence, _services, _state, _sinkRetry, cancellationToken);

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        var caughtUp = false;
        var caughtUpBefore = false;
        var headSeen = 0L;
        Task<SourceBatch>? prefetched = null;
        var prefetchedFrom = 0L;
        // The prefetched batch, derived while the sink wrote the one before it.
        DerivedBatch? ahead = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                if (!_rebuild.Running && _rebuildRequest.Take()) await _rebuild.StartAsync(_live!, stoppingToken).ConfigureAwait(false);
                // A replay reads the source too, and a source serves one read at a time: the batch read ahead lands first.
                if (prefetched is not null && _replays.TryPeek(out _)) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                await ReplayDeadLettersAsync(stoppingToken).ConfigureAwait(false);

                var live = _live!;
                // A replay that found the view's data lost rewound the offset: a batch read ahead from the old one would skip records.
                if (prefetched is not null && prefetchedFrom != live.Offset.Value)
                {
                    await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    (prefetched, ahead) = (null, null);
                }
                var batch = await (prefetched ?? ReadBatchAsync(live, live.Offset.Value, stoppingToken)).ConfigureAwait(false);
                prefetched = null;
                var advanced = batch.Offset > live.Offset.Value;
                if (advanced)
                {
                    caughtUp = false;
                    var full = batch.MoreAvailable || batch.Records.Count == _definition.Batch.MaxSize;
                    // A backlog: read the next batch while this one is projected and written. On a thread of its own: a source
                    // that reads synchronously under its async API (SQLite) would otherwise read before the write starts.
                    if (full && !_rebuild.Running) (prefetched, prefetchedFrom) = (Task.Run(() => ReadBatchAsync(live, batch.Offset, stoppingToken)), batch.Offset);
                    if (full)
                    {
                        _progress.Enter(PipelineState.CatchingUp);
                        // The head only feeds status: it is read beside the batches, never in their way (a consumer group's
                        // watermark queries wait behind its long-poll fetches, which held a Kafka backlog to 15k events/s).
                        if (_headRead is not { IsCompleted: false } && Environment.TickCount64 - headSeen > 1000)
                        {
                            headSeen = Environment.TickCount64;
                            _headRead = SeeHeadAsync(live.Source, stoppingToken);
                        }
                    }
                    else
                    {
                        _progress.SawHead(batch.Offset);
                    }

                    // What this batch logs (a sink's retries, a poison event) says which batch and offsets it was about.
                    using var batchScope = _logger.BeginScope("batch {Batch} of offsets {FromOffset}..{ToOffset}", ++_batches, live.Offset.Value, batch.Offset);
                    var stopAtPoison = _definition.OnError == ErrorPolicy.Stop;
                    var derived = ahead is not null && ReferenceEquals(ahead.Batch, batch) ? ahead : _writer.Derive(live, batch, live.Offset.Value, stopAtPoison);
                    ahead = null;
                    // A backlog: the next batch is derived while the sink writes this one, so a sink's round trip and the
                    // projection's CPU overlap instead of adding up. Started first and on a thread of its own: a sink's write
                    // runs synchronously up to its first wait (encoding, a Kafka producer's queueing), and the derivation
                    // queued behind it had left one of two cores idle for 40% of kafka-publish.
                    var next = prefetched;
                    var deriving = next is not null && !derived.Poisoned ? Task.Run(() => DeriveAheadAsync(live, next, batch.Offset, stopAtPoison)) : null;
                    var writeStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                    var committing = _writer.CommitAsync(live, derived, stoppingToken);
                    bool poisoned;
                    TimeSpan took;
                    try
                    {
                        poisoned = await committing.ConfigureAwait(false);
                        took = System.Diagnostics.Stopwatch.GetElapsedTime(writeStarted);
                    }
                    catch (SinkDataLostException lost)
                    {
                        await RepairAsync(live, lost, stoppingToken).ConfigureAwait(false);
                        if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        prefetched = null;
                        continue;
                    }
                    finally
                    {
                        // Nothing derived ahead may outlive the batch in front of it: the source is disposed after a failure.
                        if (deriving is not null) await ((Task)deriving).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                    }
                    ahead = deriving is { IsCompletedSuccessfully: true } ? deriving.Result : null;
                    await live.Source.AcknowledgeAsync(live.Offset.Value, stoppingToken).ConfigureAwait(false);
                    Advanced(batch, live.Offset.Value, took);
                    if (poisoned)
                    {
                        _progress.Enter(PipelineState.Faulted);
                        _logger.LogError("Pipeline {Pipeline} stopped at a poison event after offset {Offset}, as its error policy says; the event is in the dead-letter store",
                            _definition.Name, live.Offset.Value);
                        if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        return;
                    }
                }

                if (_rebuild.Running)
                {
                    if (await _rebuild.StepAsync(live, stoppingToken).ConfigureAwait(false) is { } rebuilt)
                    {
                        _live = rebuilt;
                        // A head read may still be on the retired generation's source, which the drop disposes.
                        await HeadReadDoneAsync().ConfigureAwait(false);
                        await _rebuild.DropRetiredAsync(stoppingToken).ConfigureAwait(false);
                        if (_rebuildAgain && _rebuildRequest.TryRequest()) _rebuildAgain = false;
                    }
                    continue;
                }
                if (advanced) continue;

                // The first catch-up after start is news; the ones after each idle flush are not.
                if (!caughtUp) _logger.Log(caughtUpBefore ? LogLevel.Debug : LogLevel.Information, "Pipeline {Pipeline} caught up at offset {Offset}", _definition.Name, live.Offset.Value);
                caughtUp = caughtUpBefore = true;
                _progress.Enter(PipelineState.Running);
                await Task.WhenAny(live.Source.WaitAsync(live.Offset.Value, stoppingToken), _rebuildRequest.Requested, _replays.WaitToReadAsync(stoppingToken).AsTask()).ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            // The source is disposed next: no head read, and no read ahead (on a thread of its own), may still be using it.
            await HeadReadDoneAsync().ConfigureAwait(false);
            if (prefetched is not null) await ((Task)prefetched).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Derives the prefetched batch once it is read; a read that fails is met again when the loop awaits it.</summary>
    private async Task<DerivedBatch?> DeriveAheadAsync(ViewTarget live, Task<SourceBatch> prefetched, long from, bool stopAtPoison)
    {
        var next = await prefetched.ConfigureAwait(false);
        return next.Records.Count == 0 ? null : _writer.Derive(live, next, from, stopAtPoison);
    }

    /// <summary>An error of a store or source that is out of reach for now, rather than one the next run would meet again.</summary>
    private static bool IsOutage(Exception error) =>
        error is System.Data.Common.DbException { IsTransient: true } or IOException or TimeoutException or System.Net.Sockets.SocketException;

    /// <summary>Pauses 1, 2, 4 … up to 30 s after a run that ended on an outage; answers whether to run again (false: stopping).</summary>
    private async Task<bool> PausedAfterOutageAsync(CancellationToken stoppingToken)
    {
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(_outages - 1, 5))), stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return !stoppingToken.IsCancellationRequested;
    }

    /// <summary>Waits for a head read in flight, at most 10 s (a source's handles stay valid through a call in progress).</summary>
    private async Task HeadReadDoneAsync()
    {
        if (_headRead is { } headRead) await headRead.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _headRead = null;
    }

    /// <summary>Reads the source's head for status; a failure only leaves the last head seen.</summary>
    private async Task SeeHeadAsync(ISourceConnector source, CancellationToken cancellationToken)
    {
        try
        {
            _progress.SawHead(await source.ReadHeadAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            _logger.LogDebug(error, "Pipeline {Pipeline} could not read its source's head", _definition.Name);
        }
    }

    /// <summary>
    /// A table of the source was truncated: the view is rebuilt from the source as it now is. A truncate met
    /// while a rebuild runs asks for one more once it ends, since the rebuild may have read the table before it.
    /// </summary>
    private void Truncated(ChangeEvent truncate)
    {
        _logger.LogWarning("Pipeline {Pipeline}: table {Table} was truncated; the view is rebuilt from the source", _definition.Name, $"{truncate.Source.Schema}.{truncate.Source.Table}");
        if (!_rebuildRequest.TryRequest()) _rebuildAgain = true;
    }

    /// <summary>Runs the dead-letter replays asked of this pipeline, between its batches, into the live view.</summary>
    private async Task ReplayDeadLettersAsync(CancellationToken cancellationToken)
    {
        while (_replays.TryRead(out var request))
        {
            try
            {
                var outcomes = await _replayer.ReplayAsync(_live!, request.Selection, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("Pipeline {Pipeline} replayed {Count} dead letter(s): {Written} written, {Failed} failed again",
                    _definition.Name, outcomes.Count, outcomes.Count(o => o.Written), outcomes.Count(o => !o.Written));
                request.Done.TrySetResult(outcomes);
            }
            catch (SinkDataLostException lost)
            {
                // The live view lost its data: it is repaired as a live batch would have it, before anything else is written.
                // The request is answered even when the repair fails (a later owner, a shutdown): its caller waits on it.
                try { await RepairAsync(_live!, lost, cancellationToken).ConfigureAwait(false); }
                finally { request.Done.TrySetException(lost); }
            }
            catch (SinkFencedException fenced)
            {
                // A later owner wrote the view: this one stops, as it would at a live batch.
                request.Done.TrySetException(fenced);
                throw;
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                request.Done.TrySetException(error);
            }
        }
    }

    /// <summary>Reads a batch; when only part of one is at hand, waits a little for more so that a trickle still makes batches.</summary>
    private async Task<SourceBatch> ReadBatchAsync(ViewTarget target, long offset, CancellationToken cancellationToken)
    {
        var max = _definition.Batch.MaxSize;
        var batch = await target.Source.ReadAsync(offset, max, cancellationToken).ConfigureAwait(false);
        if (batch.Offset <= offset || batch.MoreAvailable || batch.Records.Count == max || _definition.Batch.MaxDelay <= TimeSpan.Zero) return batch;
        await Task.Delay(_definition.Batch.MaxDelay, cancellationToken).ConfigureAwait(false);
        var more = await target.Source.ReadAsync(batch.Offset, max - batch.Records.Count, cancellationToken).ConfigureAwait(false);
        return more.Offset <= batch.Offset ? batch : new SourceBatch([.. batch.Records, .. more.Records], more.Offset, more.CommittedAt) { MoreAvailable = more.MoreAvailable };
    }

    private void Advanced(SourceBatch batch, long offset, TimeSpan took)
    {
        _outages = 0;
        // Counted before the offset shows: whoever waits for the offset then finds the counts too.
        _monitor.CountBatch(_definition.Name, took);
        _monitor.CountEvents(_definition.Name, batch.Records.Count);
        if (_progress.State == PipelineState.Retrying)
            _logger.LogInformation("Pipeline {Pipeline} wrote to {Sink} again after failures", _definition.Name, _definition.Sink.Name);
        _progress.Enter(PipelineState.CatchingUp);
        _progress.Advanced(offset, batch.Records.Count, batch.CommittedAt ?? DateTimeOffset.UtcNow);
    }

    /// <summary>
    /// The view's store lost what it held: the worker goes back to what the store really holds and reads
    /// the source again from there; version guards make the replay exact. Said in logs, metrics and status.
    /// </summary>
    private async Task RepairAsync(ViewTarget target, SinkDataLostException lost, CancellationToken cancellationToken)
    {
        _logger.LogError("Pipeline {Pipeline}: {Reason}; its view holds offset {Held}, not {Believed}: reading the source again from there to repair it",
            _definition.Name, lost.Message, lost.HeldOffset, target.Offset.Value);
        await target.Offset.RewindAsync(lost.HeldOffset, cancellationToken).ConfigureAwait(false);
        await _writer.ResendAllAsync(target, cancellationToken).ConfigureAwait(false);
        _progress.Repairing(target.Offset.Value, lost.Message);
        _monitor.CountRepair(_definition.Name);
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
}

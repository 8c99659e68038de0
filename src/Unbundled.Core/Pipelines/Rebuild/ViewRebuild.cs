using Microsoft.Extensions.Logging;
using Polly;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Unbundled.Pipelines.Rebuild;

/// <summary>
/// The unbundled <c>CREATE INDEX</c> of one pipeline: a new generation of the view is built beside the
/// live one by reading the source again from the start, a few batches per turn of the worker, and swapped
/// in once it has reached the live generation's offset, so readers never see an empty or partial view;
/// the old generation is dropped after a grace period. The generations and the definition fingerprint the
/// live one was built from are kept in the state store, so an interrupted rebuild resumes.
/// </summary>
internal sealed class ViewRebuild(PipelineDefinition definition, IPipelineStateStore state, PipelineProgress progress, PipelineView view, RebuildRequest request, ViewWriter writer, ResiliencePipeline sinkRetry,
    Func<int, CancellationToken, Task<ViewTarget>> open, ILogger logger) : IAsyncDisposable
{
    /// <summary>Rebuild batches per live batch: a rebuild sharing turns evenly with a saturated live pipeline would never catch up with it.</summary>
    private const int BatchesPerTurn = 4;

    /// <summary>How long an old generation stays after a rebuild swapped it out, for reads in flight on it.</summary>
    private static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(2);

    private ViewTarget? _building;
    private ViewTarget? _retired;

    /// <summary>True while a new generation is being built.</summary>
    public bool Running => _building is not null;

    /// <summary>Goes on with a rebuild of <paramref name="generation"/> that a stop interrupted.</summary>
    public async Task ResumeAsync(int generation, CancellationToken cancellationToken)
    {
        _building = await open(generation, cancellationToken).ConfigureAwait(false);
        request.Running();
        progress.Rebuilding(generation, _building.Offset.Value);
        logger.LogInformation("Pipeline {Pipeline} resumes rebuilding generation {Generation} after position {Offset}", definition.Name, generation, _building.Offset.Value);
    }

    /// <summary>Starts building the generation after <paramref name="live"/>'s.</summary>
    public async Task StartAsync(ViewTarget live, CancellationToken cancellationToken)
    {
        var generation = live.Generation + 1;
        var stored = await state.LoadGenerationAsync(definition.Name, cancellationToken).ConfigureAwait(false);
        await state.StoreGenerationAsync(definition.Name, stored with { Building = generation }, live.Fence, cancellationToken).ConfigureAwait(false);
        _building = await open(generation, cancellationToken).ConfigureAwait(false);
        progress.Rebuilding(generation, _building.Offset.Value);
        logger.LogInformation("Pipeline {Pipeline} rebuilds its view as generation {Generation} from the start of its source", definition.Name, generation);
    }

    /// <summary>
    /// Advances the new generation towards <paramref name="live"/>; answers the new generation once it has taken
    /// over (the caller then calls <see cref="DropRetiredAsync"/>), else null.
    /// </summary>
    public async Task<ViewTarget?> StepAsync(ViewTarget live, CancellationToken cancellationToken)
    {
        var building = _building!;
        for (var step = 0; step < BatchesPerTurn && building.Offset.Value < live.Offset.Value; step++)
        {
            var read = await building.Source.ReadAsync(building.Offset.Value, definition.Batch.MaxSize, cancellationToken).ConfigureAwait(false);
            // The new generation stops exactly where the live one stands, then takes over from there.
            var upToLive = new SourceBatch(read.Records.Where(r => r.Offset <= live.Offset.Value).ToList(), Math.Min(read.Offset, live.Offset.Value), read.CommittedAt);
            if (upToLive.Offset <= building.Offset.Value) break;
            await writer.WriteAsync(building, upToLive, stopAtPoison: false, cancellationToken).ConfigureAwait(false);
            // As the live generation does after each batch: a source keeps what is not acknowledged (a Kafka reader each
            // message it handed out, a slot its WAL), which for a whole source's rebuild grew without bound.
            await building.Source.AcknowledgeAsync(building.Offset.Value, cancellationToken).ConfigureAwait(false);
            progress.Rebuilding(building.Generation, building.Offset.Value);
        }
        if (building.Offset.Value < live.Offset.Value) return null;

        // A former owner that lost its lease unnoticed should not swap the store's readers over to a generation its successor
        // never writes: the record, which a new owner claims when it opens the view, is checked first (SinkFencedException).
        // A check before the swap leaves only the moment between the two, which the lease's keepalive timeouts cover.
        await CheckFenceAsync(building, cancellationToken).ConfigureAwait(false);
        // A moment's trouble at the swap is retried like a write, not taken for a broken pipeline.
        await sinkRetry.ExecuteAsync(async token => await ((IGenerationalSink)building.Sink).ActivateAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        await state.StoreGenerationAsync(definition.Name, new PipelineGeneration(building.Generation, null, definition.Fingerprint), building.Fence, cancellationToken).ConfigureAwait(false);
        (_building, _retired) = (null, live);
        progress.BuiltFrom(definition.Fingerprint, definition.Fingerprint);
        view.Serve(building.Sink);
        progress.Connected(building.Offset.Value, building.Generation);
        progress.Rebuilt();
        request.Ended();
        logger.LogInformation("Pipeline {Pipeline} now serves generation {Generation}; generation {Old} is dropped", definition.Name, building.Generation, live.Generation);
        return building;
    }

    /// <summary>Drops the generation a swap retired, once reads in flight on it had a moment to finish (reads already go to the new one).</summary>
    public async Task DropRetiredAsync(CancellationToken cancellationToken)
    {
        if (_retired is not { } old) return;
        await Task.Delay(GracePeriod, cancellationToken).ConfigureAwait(false);
        // The retired generation may be what a later owner serves, should this one have lost its lease meanwhile.
        await CheckFenceAsync(old, cancellationToken).ConfigureAwait(false);
        await sinkRetry.ExecuteAsync(async token => await ((IGenerationalSink)old.Sink).DropAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        await writer.ForgetAsync(old, cancellationToken).ConfigureAwait(false);
        // The old generation's server-side cursor (a replication slot) would hold WAL back forever.
        if (old.Source is IGenerationalSource cursor)
            await sinkRetry.ExecuteAsync(async token => await cursor.DropAsync(token).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        _retired = null;
        await old.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stores the generation record unchanged under <paramref name="target"/>'s token: refused (SinkFencedException) once a later owner claimed it.</summary>
    private async Task CheckFenceAsync(ViewTarget target, CancellationToken cancellationToken)
    {
        var stored = await state.LoadGenerationAsync(definition.Name, cancellationToken).ConfigureAwait(false);
        await state.StoreGenerationAsync(definition.Name, stored, target.Fence, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var target in new[] { _building, _retired }.OfType<ViewTarget>()) await target.DisposeAsync().ConfigureAwait(false);
        // A worker that lost its lease may run the view again later: it starts with no rebuild open.
        (_building, _retired) = (null, null);
    }
}

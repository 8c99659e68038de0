using Unbundled.Pipelines;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.Replay;
using Unbundled.Server.Api;

namespace Unbundled.Server.Status;

/// <summary>
/// The server's status as the status page's feed sends it: every pipeline's status with where it reads
/// and writes. Sources' heads are read at most once per <see cref="Period"/>, however many pages follow the
/// feed, so an open page costs the source what one <c>/pipelines</c> request a second does.
/// </summary>
public sealed class StatusSnapshots(PipelineMonitor monitor, PipelineCatalog pipelines, IPipelineReplay sources, TimeProvider clock)
{
    /// <summary>How often the feed sends a snapshot.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private StatusSnapshot? _latest;

    /// <summary>The newest snapshot, read again when the one held is a period old.</summary>
    public async Task<StatusSnapshot> LatestAsync(CancellationToken cancellationToken)
    {
        await _reading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = clock.GetUtcNow();
            // A little under a period, so that followers ticking each period never find it just short of stale.
            if (_latest is { } held && now - held.At < Period * 0.9) return held;
            var statuses = await PipelineEndpoints.ReadStatusesAsync(monitor, pipelines, sources, cancellationToken).ConfigureAwait(false);
            var routes = pipelines.Definitions.ToDictionary(d => d.Name, d => new PipelineRoute(d.Source.Name, d.Source.Connector.Name, d.Sink.Name, d.Sink.Connector.Name), StringComparer.Ordinal);
            return _latest = new StatusSnapshot(clock.GetUtcNow(), statuses.Select(s => new PipelineSnapshot(s, routes.GetValueOrDefault(s.Name))).ToList());
        }
        finally
        {
            _reading.Release();
        }
    }

    /// <summary>A snapshot every <see cref="Period"/> until <paramref name="cancellationToken"/> fires.</summary>
    public async IAsyncEnumerable<StatusSnapshot> FollowAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var tick = new PeriodicTimer(Period, clock);
        do yield return await LatestAsync(cancellationToken).ConfigureAwait(false);
        while (await tick.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
    }
}

/// <summary>What the status page shows at one instant.</summary>
public sealed record StatusSnapshot(DateTimeOffset At, IReadOnlyList<PipelineSnapshot> Pipelines);

/// <summary>One pipeline's status with the source it reads and the sink it writes.</summary>
public sealed record PipelineSnapshot(PipelineStatus Status, PipelineRoute? Route);

/// <summary>A pipeline's declared source and sink, with their connectors.</summary>
public sealed record PipelineRoute(string Source, string SourceConnector, string Sink, string SinkConnector);

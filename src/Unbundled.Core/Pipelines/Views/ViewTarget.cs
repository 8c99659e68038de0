using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Polly;
using Unbundled.Pipelines.Offsets;
using Unbundled.Pipelines.Projection;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Unbundled.Pipelines.Views;

/// <summary>One generation of a view as a worker writes it: its sink, its own reader of the source, and its offset.</summary>
internal sealed class ViewTarget : IAsyncDisposable
{
    private ViewTarget(int generation, ISinkConnector sink, ISourceConnector source, ViewOffset offset, long fence) =>
        (Generation, Sink, Source, Offset, Fence) = (generation, sink, source, offset, fence);

    /// <summary>Which generation of the view this is (0 for the first).</summary>
    public int Generation { get; }

    /// <summary>The sink connector writing this generation.</summary>
    public ISinkConnector Sink { get; }

    /// <summary>This generation's reader of the pipeline's source.</summary>
    public ISourceConnector Source { get; }

    /// <summary>How far this generation has come.</summary>
    public ViewOffset Offset { get; }

    /// <summary>The fencing token of the lease this generation is written under (0: no lease), sent with every batch.</summary>
    public long Fence { get; }

    /// <summary>The instance's name (configured, or host and port), else the host's: stable across restarts, unlike a process id.</summary>
    private static string StableInstanceName(IServiceProvider services) =>
        services.GetService<IOptions<Leases.PipelineLeaseOptions>>()?.Value.Instance ?? Environment.MachineName;

    /// <summary>Creates, connects and positions the sink and source of one generation, retrying while either cannot be reached.</summary>
    public static async Task<ViewTarget> OpenAsync(PipelineTransform transform, int generation, long fence, IServiceProvider services, IPipelineStateStore state,
        ResiliencePipeline retry, CancellationToken cancellationToken)
    {
        var definition = transform.Definition;
        var sink = definition.Sink.Connector.Create(definition.Sink.Options, new SinkContext(definition.Name, services) { Generation = generation, OwnerField = definition.Owner });
        var source = definition.Source.Connector.Create(definition.Source.Options, new SourceContext(definition.Name, definition.Source.Name, services)
        {
            Generation = generation,
            // A feed's clients are this instance's own, and a view in this instance's files (a Lucene index, an NDJSON
            // journal) must hold every document: such a reader sees every change, not a share of them.
            Instance = definition.Sink.Connector.RunsOnEveryInstance || (sink is not IPassThroughSink && !sink.ServesReadsAnywhere) ? StableInstanceName(services) : null,
            ItemsField = transform.ItemsField,
            ReadsOnlyChangedItems = transform.ReadsOnlyChangedItems(sink),
        });
        var offset = new ViewOffset(sink, state, ViewOffset.NameOf(definition.Name, generation), fence);
        await retry.ExecuteAsync(async token =>
        {
            await source.ConnectAsync(token).ConfigureAwait(false);
            await sink.ConnectAsync(token).ConfigureAwait(false);
            await offset.LoadAsync(token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return new ViewTarget(generation, sink, source, offset, fence);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync().ConfigureAwait(false);
        await Sink.DisposeAsync().ConfigureAwait(false);
    }
}

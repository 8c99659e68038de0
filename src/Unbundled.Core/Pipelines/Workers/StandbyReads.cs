using Microsoft.Extensions.Logging;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Workers;

/// <summary>
/// While another instance runs a pipeline, this one still serves reads of its view from the shared store, and
/// follows the generation the owner makes active: a rebuild there drops the generation a standby opened first.
/// Sinks kept in files their writer locks are not opened (<see cref="ISinkConnector.ServesReadsAnywhere"/>).
/// </summary>
internal sealed class StandbyReads(PipelineDefinition definition, IPipelineStateStore state, PipelineView view, IServiceProvider services, ILogger logger) : IAsyncDisposable
{
    private ISinkConnector? _sink;
    private int? _generation;
    private bool _warned;

    /// <summary>Opens the active generation for reads unless it is open already; a store out of reach leaves reads as they were.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var active = (await state.LoadGenerationAsync(definition.Name, cancellationToken).ConfigureAwait(false)).Active;
            if (active == _generation) return;
            var sink = definition.Sink.Connector.Create(definition.Sink.Options, new SinkContext(definition.Name, services) { Generation = active, OwnerField = definition.Owner });
            if (!sink.ServesReadsAnywhere)
            {
                // Readers of this instance get "not ready" rather than a sink another instance writes.
                await sink.DisposeAsync().ConfigureAwait(false);
                view.Withdraw();
                _generation = active;
                return;
            }
            try { await sink.ConnectAsync(cancellationToken).ConfigureAwait(false); }
            catch
            {
                await sink.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            view.Serve(sink);
            if (_sink is not null) await _sink.DisposeAsync().ConfigureAwait(false);
            (_sink, _generation, _warned) = (sink, active, false);
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            // Tried again at the next refresh; said once per outage, not every two seconds.
            if (!_warned) logger.LogWarning(error, "Pipeline {Pipeline} waits for its lease and cannot serve reads of its view meanwhile", definition.Name);
            _warned = true;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_sink is not null) await _sink.DisposeAsync().ConfigureAwait(false);
        _sink = null;
    }
}

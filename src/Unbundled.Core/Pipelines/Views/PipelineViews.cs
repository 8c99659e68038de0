using System.Collections.Concurrent;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Views;

/// <summary>The running pipelines' views as readers and operators reach them, by pipeline name.</summary>
public sealed class PipelineViews
{
    private readonly ConcurrentDictionary<string, PipelineView> _views = new(StringComparer.Ordinal);

    /// <summary>The view of <paramref name="pipeline"/>; null when no such pipeline runs.</summary>
    public PipelineView? Find(string pipeline) => _views.GetValueOrDefault(pipeline);

    internal PipelineView Register(string pipeline) => _views.GetOrAdd(pipeline, _ => new PipelineView());
}

/// <summary>
/// One pipeline's view as readers reach it: the sink of the generation they see, swapped at once when
/// a rebuild takes over.
/// </summary>
public sealed class PipelineView
{
    private ISinkConnector? _sink;

    /// <summary>The sink readers read and search through; null until the worker has connected it.</summary>
    public ISinkConnector? Sink => Volatile.Read(ref _sink);

    internal void Serve(ISinkConnector sink) => Volatile.Write(ref _sink, sink);

    /// <summary>Readers get "not ready" (503) rather than a disposed sink (a 500) until a sink is served again.</summary>
    internal void Withdraw() => Volatile.Write(ref _sink, null);
}

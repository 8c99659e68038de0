using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Projection;

namespace Unbundled.Pipelines;

/// <summary>The pipelines a host runs, by name, each with its transform (filter and projection).</summary>
public sealed class PipelineCatalog
{
    private readonly Dictionary<string, PipelineTransform> _pipelines = new(StringComparer.Ordinal);

    /// <summary>Every pipeline's definition, in registration order.</summary>
    public IEnumerable<PipelineDefinition> Definitions => _pipelines.Values.Select(t => t.Definition);

    /// <summary>The transform of <paramref name="pipeline"/>; null when no pipeline has that name.</summary>
    public PipelineTransform? Find(string pipeline) => _pipelines.GetValueOrDefault(pipeline);

    internal void Add(PipelineTransform transform)
    {
        if (!_pipelines.TryAdd(transform.Definition.Name, transform))
            throw new InvalidOperationException($"A pipeline named '{transform.Definition.Name}' is registered already.");
    }
}

using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Unbundled.Sdk.Connectors;

/// <summary>
/// The connectors a host knows by name. One instance lives in the service collection from the first
/// registration on, so pipelines.yaml can be checked against it before the container is built.
/// </summary>
public sealed class ConnectorCatalog
{
    private readonly Dictionary<string, ISinkConnectorFactory> _sinks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ISourceConnectorFactory> _sources = new(StringComparer.Ordinal);

    /// <summary>The sink connectors, by name.</summary>
    public IReadOnlyDictionary<string, ISinkConnectorFactory> Sinks => _sinks;

    /// <summary>The source connectors, by name.</summary>
    public IReadOnlyDictionary<string, ISourceConnectorFactory> Sources => _sources;

    /// <summary>Adds a sink connector; a second one of the same name is a mistake.</summary>
    public void Add(ISinkConnectorFactory factory)
    {
        if (!_sinks.TryAdd(factory.Name, factory)) throw new InvalidOperationException($"A sink connector named '{factory.Name}' is registered already.");
    }

    /// <summary>Adds a source connector; a second one of the same name is a mistake.</summary>
    public void Add(ISourceConnectorFactory factory)
    {
        if (!_sources.TryAdd(factory.Name, factory)) throw new InvalidOperationException($"A source connector named '{factory.Name}' is registered already.");
    }
}

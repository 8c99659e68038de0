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

    /// <summary>Adds a sink connector; adding the same connector again is harmless, another one of the same name is a mistake.</summary>
    public void Add(ISinkConnectorFactory factory) => Add(_sinks, factory, "sink");

    /// <summary>Adds a source connector; adding the same connector again is harmless, another one of the same name is a mistake.</summary>
    public void Add(ISourceConnectorFactory factory) => Add(_sources, factory, "source");

    private static void Add<T>(Dictionary<string, T> known, T factory, string what) where T : IConnectorFactory
    {
        if (known.TryAdd(factory.Name, factory) || known[factory.Name]!.GetType() == factory.GetType()) return;
        throw new InvalidOperationException($"A {what} connector named '{factory.Name}' is registered already ({known[factory.Name]!.GetType().Name}).");
    }
}

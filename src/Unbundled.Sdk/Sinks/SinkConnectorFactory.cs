
namespace Unbundled.Sdk.Sinks;

/// <summary>What a connector learns about the pipeline it serves.</summary>
/// <param name="Pipeline">The pipeline's name (unique in pipelines.yaml): use it to namespace keys, indices and offsets.</param>
/// <param name="Services">The host's services (loggers, options, clients).</param>
public sealed record SinkContext(string Pipeline, IServiceProvider Services)
{
    /// <summary>
    /// Which generation of the view this connector writes (0 for the first). A rebuild writes
    /// generation n+1 beside the live one: a connector that implements <see cref="IGenerationalSink"/>
    /// keeps each generation's documents, versions and offset apart (an index, key prefix or folder each).
    /// </summary>
    public int Generation { get; init; }

    /// <summary>The field of the view's documents that names their owner or tenant (pipelines.yaml <c>owner:</c>), if declared.</summary>
    public string? OwnerField { get; init; }
}

/// <summary>
/// A sink connector known by name in pipelines.yaml (<c>sinks: { my-sink: { connector: NAME, …options } }</c>):
/// the type its options bind to, and how to build it. Register it with <c>services.AddSinkConnector</c>.
/// </summary>
public interface ISinkConnectorFactory : IConnectorFactory
{
    /// <summary>Builds the connector for one pipeline.</summary>
    ISinkConnector Create(object options, SinkContext context);
}

/// <summary>A typed base for connector factories: options of <typeparamref name="TOptions"/>.</summary>
public abstract class SinkConnectorFactory<TOptions> : ConnectorFactory<TOptions>, ISinkConnectorFactory where TOptions : class, new()
{
    /// <inheritdoc />
    public ISinkConnector Create(object options, SinkContext context) => Create((TOptions)options, context);

    /// <summary>Builds the connector.</summary>
    protected abstract ISinkConnector Create(TOptions options, SinkContext context);
}

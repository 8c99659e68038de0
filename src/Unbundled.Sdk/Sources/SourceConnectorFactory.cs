
namespace Unbundled.Sdk.Sources;

/// <summary>What a source connector learns about the pipeline reading it.</summary>
/// <param name="Pipeline">The pipeline's name: use it to name server-side cursors (slots, consumer groups).</param>
/// <param name="Source">The source's name in pipelines.yaml (it goes to <c>source.name</c> of each event).</param>
/// <param name="Services">The host's services (loggers, options, clients).</param>
public sealed record SourceContext(string Pipeline, string Source, IServiceProvider Services)
{
    /// <summary>
    /// Which generation of the view reads (0 for the first). A rebuild reads the source again from the start
    /// beside the live generation: a source with a server-side cursor keeps one per generation
    /// (and implements <see cref="IGenerationalSource"/> to release it).
    /// </summary>
    public int Generation { get; init; }

    /// <summary>
    /// The array of the model whose items the pipeline's projection derives from one by one (its <c>ItemsField</c>): a source
    /// that knows which item a change wrote hands it out as <see cref="Events.ChangeEvent.Item"/>. Null: none is wanted.
    /// </summary>
    public string? ItemsField { get; init; }

    /// <summary>
    /// True when the pipeline reads, of a change below one item of an array, only that item (<see cref="Events.ChangeEvent.Item"/>):
    /// a source whose copy of a whole model costs the model's size may then copy its states only when they are read.
    /// </summary>
    public bool ReadsOnlyChangedItems { get; init; }

    /// <summary>
    /// True for a reader beside the pipeline's own, opened for heads, version lookups and replays (push-feed
    /// history): it must not create or take what the pipeline's reader owns (a replication slot, a consumer
    /// group's partitions), and may refuse reads it cannot serve without doing so.
    /// </summary>
    public bool Lookup { get; init; }

    /// <summary>
    /// Set when every server instance runs this pipeline in full (a push feed serves its own instance's clients):
    /// this instance's stable name. The reader must then see everything rather than share the work with the other
    /// instances, e.g. in a consumer group of its own instead of the pipeline's.
    /// </summary>
    public string? Instance { get; init; }
}

/// <summary>
/// A source that can say how its server-side cursor stands (a slot's retained WAL and health), shown in a
/// pipeline's status and metrics so that a cursor endangering its origin is seen before it does harm.
/// </summary>
public interface IDescribedSource
{
    /// <summary>What the source wants shown, as name → value (e.g. <c>slot</c>, <c>walStatus</c>, <c>retainedBytes</c>).</summary>
    Task<IReadOnlyDictionary<string, string>> DescribeAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A source connector known by name in pipelines.yaml (<c>sources: { my-source: { connector: NAME, …options } }</c>).
/// Register it with <c>services.AddSourceConnector</c>.
/// </summary>
public interface ISourceConnectorFactory : IConnectorFactory
{
    /// <summary>Builds a reader of the source for one pipeline.</summary>
    ISourceConnector Create(object options, SourceContext context);
}

/// <summary>A typed base for source connector factories: options of <typeparamref name="TOptions"/>.</summary>
public abstract class SourceConnectorFactory<TOptions> : ConnectorFactory<TOptions>, ISourceConnectorFactory where TOptions : class, new()
{
    /// <inheritdoc />
    public ISourceConnector Create(object options, SourceContext context) => Create((TOptions)options, context);

    /// <summary>Builds the connector.</summary>
    protected abstract ISourceConnector Create(TOptions options, SourceContext context);
}

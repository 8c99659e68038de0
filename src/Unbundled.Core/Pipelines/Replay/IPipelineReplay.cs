using Unbundled.Sdk.Sources;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Replay;

/// <summary>
/// Derives a pipeline's documents again over a stretch of its source, without touching its view: how a
/// push feed serves a subscriber what it missed, the same after a restart or on another instance.
/// </summary>
public interface IPipelineReplay
{
    /// <summary>The documents <paramref name="pipeline"/> derives from its source's records after <paramref name="after"/> up to <paramref name="until"/>, in order.</summary>
    IAsyncEnumerable<SinkDocument> ReplayAsync(string pipeline, long after, long until, CancellationToken cancellationToken);

    /// <summary>
    /// Whether the pipeline's source can be read again from an offset beside the pipeline. A source that keeps
    /// its own position (a Kafka consumer group) cannot: what a feed's subscriber missed must be refetched.
    /// </summary>
    Task<bool> CanReplayAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>The newest offset of the pipeline's source.</summary>
    Task<long> ReadHeadAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>How the pipeline's source cursor stands (<see cref="IDescribedSource"/>), or null when its source says nothing.</summary>
    Task<IReadOnlyDictionary<string, string>?> DescribeSourceAsync(string pipeline, CancellationToken cancellationToken);

    /// <summary>The source offset at which <paramref name="key"/> of <paramref name="table"/> reached <paramref name="version"/>; null when it never did or the source cannot tell.</summary>
    Task<long?> OffsetOfVersionAsync(string pipeline, string table, string key, long version, CancellationToken cancellationToken);
}

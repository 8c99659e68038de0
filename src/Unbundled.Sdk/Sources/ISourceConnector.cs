namespace Unbundled.Sdk.Sources;

/// <summary>
/// Where a pipeline's change events come from, plugged in like a sink. A pipeline reads one instance per
/// generation of its view it builds, from the <b>offset</b> it last handled: a 64-bit position the source
/// defines (a log position, a commit LSN, a checkpoint of partition offsets) that orders what it covers
/// and from which the source resumes exactly. The engine keeps the offset (or the sink keeps it,
/// atomically with its writes), and tells the source with <see cref="AcknowledgeAsync"/> once a batch is
/// durable, so that a source with a server-side cursor (a replication slot, a consumer group) moves it
/// only then. Each event carries the version that guards sink writes, chosen by the source.
/// </summary>
public interface ISourceConnector : IAsyncDisposable
{
    /// <summary>Opens connections and creates what the source needs (a publication, a slot, a consumer) when missing.</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="maxCount"/> records after <paramref name="afterOffset"/>, in order; an empty
    /// batch when nothing is at hand. The batch's offset may pass records the source skipped.
    /// </summary>
    Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when records after <paramref name="afterOffset"/> may exist: at once if they do, else when
    /// the source is signalled. May complete early; callers read again.
    /// </summary>
    Task WaitAsync(long afterOffset, CancellationToken cancellationToken);

    /// <summary>The newest offset the source can read up to now (0: none): what lag is measured against.</summary>
    Task<long> ReadHeadAsync(CancellationToken cancellationToken);

    /// <summary>The pipeline durably handled everything up to <paramref name="offset"/>; a source may release what it kept for it.</summary>
    ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken);

    /// <summary>
    /// True when the source resumes from a cursor it keeps at the origin (a consumer group's committed
    /// offsets) rather than from the offset it is given, which then only numbers its records: an offset is
    /// resumable once acknowledged, the view's store does not vouch for it, and several server instances
    /// may read the source at once, each its share.
    /// </summary>
    bool KeepsPosition => false;

    /// <summary>
    /// True when a rebuild reads the source's tables as they are now (a snapshot), so that a view rebuilt after a
    /// TRUNCATE no longer holds the rows it removed. A source that replays its history (a topic) would read them,
    /// and the truncate, again: its truncates are dead letters instead of rebuilds.
    /// </summary>
    bool RebuildsFromCurrentState => false;
}

/// <summary>
/// A source that can tell at which offset a key reached a version, so that a client holding a model at
/// some version can follow a feed from exactly there (<c>/feeds/…?model=type/id&amp;version=n</c>).
/// </summary>
public interface IVersionedSource
{
    /// <summary>The offset of the event that made <paramref name="key"/> of <paramref name="table"/> reach <paramref name="version"/>; null when it never did.</summary>
    Task<long?> OffsetOfVersionAsync(string table, string key, long version, CancellationToken cancellationToken);
}

/// <summary>
/// A source that keeps a server-side cursor per generation of a view (a replication slot, a consumer
/// group): when a rebuild retires the generation, the engine drops it, so that it holds nothing back
/// (a slot left behind keeps WAL on the database's disk forever).
/// </summary>
public interface IGenerationalSource
{
    /// <summary>Deletes what the source keeps for this generation.</summary>
    Task DropAsync(CancellationToken cancellationToken);
}

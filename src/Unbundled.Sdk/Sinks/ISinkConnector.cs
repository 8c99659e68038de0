namespace Unbundled.Sdk.Sinks;

/// <summary>
/// The plug-in point for a derived view. A pipeline worker owns one connector instance: it connects,
/// loads the offset to resume from, then writes batches; it stores the offset only after a batch was
/// acknowledged. Writes must be idempotent and version-guarded (see <see cref="SinkDocument"/>).
/// Throw <see cref="SinkUnavailableException"/> (or any exception) for transient trouble: the worker
/// backs off and retries the same batch. Refuse single writes for good by returning them in
/// <see cref="SinkBatchResult.Rejected"/>.
/// </summary>
public interface ISinkConnector : IAsyncDisposable
{
    /// <summary>Opens connections and creates what the view needs (indices, keys, tables) when missing.</summary>
    Task ConnectAsync(CancellationToken cancellationToken);

    /// <summary>
    /// True when the connector keeps the pipeline's offset itself, written in the same atomic operation
    /// as each batch (a Redis script, a database transaction): then a crash can never separate the two.
    /// Otherwise the engine stores the offset after <see cref="WriteAsync"/> returned.
    /// </summary>
    bool KeepsOffset { get; }

    /// <summary>The offset this connector kept (the last log position the view holds; 0: none). Only called when <see cref="KeepsOffset"/>.</summary>
    Task<long> LoadOffsetAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Applies a batch, in order, each write guarded by its version; when <see cref="KeepsOffset"/>, also
    /// stores <see cref="SinkBatch.Offset"/> atomically with the writes.
    /// </summary>
    Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken);

    /// <summary>Reads one document of the view by key, for the server's read API; null when absent.</summary>
    Task<System.Text.Json.Nodes.JsonObject?> ReadAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// True when the view needs every document a change projects, changed or not: a cache whose entries
    /// expire, which each write refreshes. By default the engine writes only the documents a change altered.
    /// </summary>
    bool WantsEveryDocument => false;

    /// <summary>
    /// True when the sink writes the change each document came from as well (a Kafka topic of Debezium
    /// envelopes): the engine then sets <see cref="SinkDocument.Change"/>.
    /// </summary>
    bool WantsChanges => false;

    /// <summary>
    /// True when its store is a shared server (Redis, Elasticsearch) that instances other than the writer may
    /// open just to serve reads while they stand by. Files a writer locks (an NDJSON journal, a Lucene index)
    /// are not: a standby holding them open would keep the pipeline's next owner from writing.
    /// </summary>
    bool ServesReadsAnywhere => false;
}

/// <summary>The sink cannot be reached now; the worker retries the batch with backoff.</summary>
public sealed class SinkUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// A view held in memory that outlives the connectors writing to it, like a real store outlives a
/// process: version-guarded, with tombstones, and optionally keeping its offset with the writes.
/// It can be told to fail its next writes, to play a sink that is down.
/// </summary>
public sealed class RecordingView
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (long Version, JsonObject? Document)> _documents = new();
    private int _failuresLeft;

    /// <summary>The offset kept with the writes (when the sink keeps offsets).</summary>
    public long Offset { get; private set; }

    /// <summary>How many batches were written.</summary>
    public int Batches { get; private set; }

    /// <summary>How many document writes and deletes reached the sink, stale ones included.</summary>
    public int DocumentsWritten { get; private set; }

    /// <summary>The lowest log position of each batch written, in order, to tell where a worker (re)started.</summary>
    public IReadOnlyList<long> BatchStarts
    {
        get { lock (_gate) return [.. _batchStarts]; }
    }

    private readonly List<long> _batchStarts = [];

    /// <summary>Refuses the documents it matches, as a sink's mapping would until fixed.</summary>
    public Func<SinkDocument, bool>? Refuses { get; set; }

    /// <summary>Makes the next <paramref name="count"/> writes throw.</summary>
    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>The live documents, by key, as JSON text (for comparing views).</summary>
    public IReadOnlyDictionary<string, string> Snapshot()
    {
        lock (_gate) return _documents.Where(d => d.Value.Document is not null).ToDictionary(d => d.Key, d => d.Value.Document!.ToJsonString());
    }

    /// <summary>One live document, if present.</summary>
    public JsonObject? Get(string key)
    {
        lock (_gate) return _documents.TryGetValue(key, out var held) ? held.Document : null;
    }

    internal SinkBatchResult Write(SinkBatch batch, bool keepOffset)
    {
        if (Interlocked.Decrement(ref _failuresLeft) >= 0) throw new SinkUnavailableException("the recording view is down");
        var rejected = new List<SinkRejection>();
        lock (_gate)
        {
            foreach (var document in batch.Documents)
            {
                if (document.Document?["reject"] is not null || Refuses?.Invoke(document) == true)
                {
                    rejected.Add(new SinkRejection(document, "the document asks to be rejected"));
                    continue;
                }
                if (_documents.TryGetValue(document.Key, out var held) && held.Version >= document.Version) continue;
                _documents[document.Key] = (document.Version, document.IsDelete ? null : (JsonObject)document.Document!.DeepClone());
            }
            DocumentsWritten += batch.Documents.Count;
            if (keepOffset) Offset = Math.Max(Offset, batch.Offset);
            if (batch.Documents.Count > 0) _batchStarts.Add(batch.Documents.Min(d => d.Position));
            Batches++;
        }
        return new SinkBatchResult(rejected);
    }
}

/// <summary>Options of the recording sink: the view it writes to.</summary>
public sealed class RecordingSinkOptions
{
    /// <summary>The view.</summary>
    public RecordingView View { get; set; } = new();

    /// <summary>Whether the sink keeps the offset with its writes.</summary>
    public bool KeepsOffset { get; set; }

    /// <summary>Whether the sink asks for every document a change projects (as a cache with a TTL does).</summary>
    public bool WantsEveryDocument { get; set; }
}

/// <summary>Builds recording sinks.</summary>
public sealed class RecordingSinkFactory : SinkConnectorFactory<RecordingSinkOptions>
{
    /// <inheritdoc />
    public override string Name => "recording";

    /// <inheritdoc />
    protected override ISinkConnector Create(RecordingSinkOptions options, SinkContext context) => new RecordingSink(options);

    private sealed class RecordingSink(RecordingSinkOptions options) : ISinkConnector
    {
        public bool KeepsOffset => options.KeepsOffset;

        public bool WantsEveryDocument => options.WantsEveryDocument;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) => Task.FromResult(options.View.Offset);

        public Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken) =>
            Task.FromResult(options.View.Write(batch, options.KeepsOffset));

        public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) => Task.FromResult(options.View.Get(key));

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}

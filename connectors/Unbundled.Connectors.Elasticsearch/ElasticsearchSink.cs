using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.Core.Bulk;
using Unbundled.Connectors.Elasticsearch.Bulk;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;
using SearchRequest = Unbundled.Sdk.Sinks.SearchRequest;

namespace Unbundled.Connectors.Elasticsearch;

/// <summary>
/// A search index in Elasticsearch. Documents are indexed in bulk with the model version as an
/// external version, so Elasticsearch itself ignores stale and replayed writes (a 409 conflict is
/// success). Each bulk item is judged on its own: 429 and 5xx make the batch retry (harmless, the
/// versions guard it), other refusals (mapping errors) go to the dead-letter store. The view is an
/// alias over a concrete index, ready for rebuilds. Bulk writes are not atomic across documents, so
/// the engine keeps the offset.
/// </summary>
public sealed class ElasticsearchSink(string pipeline, ElasticsearchOptions options, ElasticsearchClient client, int generation = 0)
    : IGenerationalSink, ISearchableSink
{
    private readonly string _alias = options.Index.Replace("{pipeline}", pipeline);
    private readonly IndexAdmin _indices = new(client);
    private readonly BulkSender _bulk = new(client);
    private readonly DocumentReader _reader = new(client, options.SearchTimeout);

    private readonly BulkBody _bulkBody = new();

    /// <summary>Elasticsearch's limit on an <c>_id</c>, in UTF-8 bytes.</summary>
    private const int MaxIdBytes = 512;

    /// <summary>1 when documents were written since the last refresh this sink asked for.</summary>
    private int _unrefreshed;

    // Each generation is a concrete index; readers go through the alias, which a rebuild moves.
    private string Index => $"{_alias}-{generation + 1:000000}";

    /// <inheritdoc />
    public bool KeepsOffset => false;

    /// <inheritdoc />
    public bool ServesReadsAnywhere => true;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (await _indices.ExistsAsync(Index, cancellationToken).ConfigureAwait(false)) return;
        var aliasExists = await _indices.ExistsAsync(_alias, cancellationToken).ConfigureAwait(false);
        await _indices.CreateAsync(Index, options.Definition, aliasExists ? null : _alias, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task ActivateAsync(CancellationToken cancellationToken) => _indices.MoveAliasAsync(_alias, Index, cancellationToken);

    /// <inheritdoc />
    public Task DropAsync(CancellationToken cancellationToken) => _indices.DeleteAsync(Index, cancellationToken);

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("The Elasticsearch sink does not keep offsets; the engine does.");

    /// <inheritdoc />
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        // A bulk write to a dropped index would silently create an empty one (auto-create): check first, and have the engine replay.
        if (batch.BasedOn > 0 && !await _indices.ExistsAsync(Index, cancellationToken).ConfigureAwait(false))
        {
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            throw new SinkDataLostException(0, $"the Elasticsearch index {Index} was removed");
        }
        var rejected = new List<SinkRejection>();
        var retry = new List<string>();
        var valid = new List<SinkDocument>(batch.Documents.Count);
        foreach (var document in batch.Documents)
        {
            if (InvalidId(document.Key) is { } reason) rejected.Add(new SinkRejection(document, reason));
            else valid.Add(document);
        }
        foreach (var chunk in valid.Chunk(Math.Max(1, options.BulkSize)))
            await WriteChunkAsync(chunk, rejected, retry, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _unrefreshed, 1);
        // Items refused for now are written again with the whole batch; the versions make the repeats no-ops.
        if (retry.Count > 0) throw new SinkUnavailableException($"Elasticsearch could not take every document yet ({retry[0]})");
        return rejected.Count == 0 ? SinkBatchResult.Success : new SinkBatchResult(rejected);
    }

    /// <summary>
    /// Elasticsearch refuses an empty <c>_id</c> or one over 512 bytes by failing the whole bulk request;
    /// such a key is dead-lettered here so that it cannot stall the pipeline.
    /// </summary>
    private static string? InvalidId(string key)
    {
        if (key.Length == 0) return "Elasticsearch refuses an empty _id.";
        var bytes = System.Text.Encoding.UTF8.GetByteCount(key);
        return bytes > MaxIdBytes ? $"Elasticsearch refuses an _id of {bytes} bytes; at most {MaxIdBytes} are allowed." : null;
    }

    private async Task WriteChunkAsync(SinkDocument[] chunk, List<SinkRejection> rejected, List<string> retry, CancellationToken cancellationToken)
    {
        IReadOnlyList<ResponseItem> items;
        try
        {
            items = await _bulk.SendAsync(_bulkBody.Write(Index, chunk), chunk.Length, cancellationToken).ConfigureAwait(false);
        }
        catch (ElasticsearchRequestException refused) when (refused.Status == 400)
        {
            // The whole request was refused for something one document carries: halve until it stands alone.
            if (chunk.Length == 1)
            {
                rejected.Add(new SinkRejection(chunk[0], $"Elasticsearch refused it: {refused.Message}"));
                return;
            }
            var half = chunk.Length / 2;
            await WriteChunkAsync(chunk[..half], rejected, retry, cancellationToken).ConfigureAwait(false);
            await WriteChunkAsync(chunk[half..], rejected, retry, cancellationToken).ConfigureAwait(false);
            return;
        }
        for (var i = 0; i < chunk.Length; i++)
        {
            var item = items[i];
            // 409: the held version is as new or newer, so this write is stale or a replay and is rightly ignored.
            if (item.Status is >= 200 and < 300 || item.Status == 409 || (item.Status == 404 && chunk[i].IsDelete)) continue;
            if (item.Status is 429 or >= 500) retry.Add($"{item.Status} {item.Error?.Type}: {item.Error?.Reason}");
            else rejected.Add(new SinkRejection(chunk[i], $"Elasticsearch refused it with {item.Status} {item.Error?.Type}: {item.Error?.Reason}"));
        }
    }

    /// <inheritdoc />
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) => _reader.GetAsync(Index, key, cancellationToken);

    /// <inheritdoc />
    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken)
    {
        // Search sees only what a refresh exposed: refresh first when this sink wrote since, so a
        // reader that waited for its write's position finds it (get by id needs no refresh).
        if (Interlocked.Exchange(ref _unrefreshed, 0) == 1) await _indices.RefreshAsync(Index, cancellationToken).ConfigureAwait(false);
        return await _reader.SearchAsync(Index, request, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

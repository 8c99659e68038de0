using System.Buffers;
using System.Text.Json.Nodes;
using Unbundled.Connectors.Elasticsearch.Rest;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch;

/// <summary>
/// A search index in Elasticsearch. Documents are indexed in bulk with the model version as an
/// external version, so Elasticsearch itself ignores stale and replayed writes (a 409 conflict is
/// success). Each bulk item is judged on its own: 429 and 5xx make the batch retry (harmless, the
/// versions guard it), other refusals (mapping errors) go to the dead-letter store. The view is an
/// alias over a concrete index, ready for rebuilds. Bulk writes are not atomic across documents, so
/// the engine keeps the offset.
/// </summary>
public sealed class ElasticsearchSink(string pipeline, ElasticsearchOptions options, ElasticsearchRestClient client, int generation = 0)
    : IGenerationalSink, ISearchableSink
{
    private readonly string _alias = options.Index.Replace("{pipeline}", pipeline);

    // Each generation is a concrete index; readers go through the alias, which a rebuild moves.
    /// <summary>Reused for every bulk request, since the worker writes one batch at a time.</summary>
    private readonly ArrayBufferWriter<byte> _bulkBody = new();

    /// <summary>Elasticsearch's limit on an <c>_id</c>, in UTF-8 bytes.</summary>
    private const int MaxIdBytes = 512;

    /// <summary>1 when documents were written since the last refresh this sink asked for.</summary>
    private int _unrefreshed;

    private string Index => $"{_alias}-{generation + 1:000000}";

    /// <inheritdoc />
    public bool KeepsOffset => false;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        if (await Call(() => client.ExistsAsync(Index, cancellationToken)).ConfigureAwait(false)) return;
        var aliasExists = await Call(() => client.ExistsAsync(_alias, cancellationToken)).ConfigureAwait(false);
        await Call(async () =>
        {
            await client.CreateIndexAsync(Index, options.Definition, aliasExists ? null : _alias, cancellationToken).ConfigureAwait(false);
            return true;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task ActivateAsync(CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await client.MoveAliasAsync(_alias, Index, cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <inheritdoc />
    public Task DropAsync(CancellationToken cancellationToken) =>
        Call(async () =>
        {
            await client.DeleteIndexAsync(Index, cancellationToken).ConfigureAwait(false);
            return true;
        });

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("The Elasticsearch sink does not keep offsets; the engine does.");

    /// <inheritdoc />
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        // A bulk write to a dropped index would silently create an empty one (auto-create): check first, and have the engine replay.
        if (batch.BasedOn > 0 && !await Call(() => client.ExistsAsync(Index, cancellationToken)).ConfigureAwait(false))
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
        _bulkBody.ResetWrittenCount();
        BulkRequestWriter.Write(Index, chunk, _bulkBody);
        IReadOnlyList<BulkItemResult> items;
        try
        {
            items = await Call(() => client.BulkAsync(_bulkBody.WrittenMemory, cancellationToken)).ConfigureAwait(false);
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
            if (item.Status is >= 200 and < 300 || item.Status == 409 || (item.Status == 404 && chunk[i].IsDelete)) continue;
            if (item.Status is 429 or >= 500) retry.Add($"{item.Status} {item.ErrorType}: {item.ErrorReason}");
            else rejected.Add(new SinkRejection(chunk[i], $"Elasticsearch refused it with {item.Status} {item.ErrorType}: {item.ErrorReason}"));
        }
    }

    /// <inheritdoc />
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) =>
        Call(() => client.GetAsync(Index, key, cancellationToken));

    /// <inheritdoc />
    public async Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken)
    {
        JsonNode search = new JsonObject { ["query_string"] = new JsonObject { ["query"] = request.Query } };
        // The owner filter goes inside the query (exact, on the keyword form), so totals and pages count only what the caller may see.
        if (request.Filter is { } filter)
            search = new JsonObject
            {
                ["bool"] = new JsonObject
                {
                    ["must"] = search,
                    ["filter"] = new JsonObject { ["term"] = new JsonObject { [filter.Field + ".keyword"] = filter.Value } },
                },
            };
        // Elasticsearch stops collecting at the timeout, so one costly query cannot hold the cluster.
        var body = new JsonObject { ["query"] = search, ["from"] = request.From, ["size"] = request.Limit, ["timeout"] = $"{(long)options.SearchTimeout.TotalMilliseconds}ms" };
        // Search sees only what a refresh exposed: refresh first when this sink wrote since, so a
        // reader that waited for its write's position finds it (get by id needs no refresh).
        if (Interlocked.Exchange(ref _unrefreshed, 0) == 1)
            await Call(async () => { await client.RefreshAsync(Index, cancellationToken).ConfigureAwait(false); return true; }).ConfigureAwait(false);
        JsonObject answer;
        try
        {
            answer = await Call(() => client.SearchAsync(Index, body, cancellationToken)).ConfigureAwait(false);
        }
        catch (ElasticsearchRequestException refused) when (refused.Status == 400)
        {
            throw new InvalidQueryException($"'{request.Query}' is not a query Elasticsearch accepts: {refused.Message}", refused);
        }
        var hits = answer["hits"]!;
        return new SearchResult(
            (long)hits["total"]!["value"]!,
            hits["hits"]!.AsArray().Select(hit => new SearchHit((string)hit!["_id"]!, (double?)hit["_score"] ?? 0, (JsonObject)hit["_source"]!.DeepClone())).ToList());
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static async Task<T> Call<T>(Func<Task<T>> request)
    {
        try
        {
            return await request().ConfigureAwait(false);
        }
        catch (ElasticsearchUnavailableException unavailable)
        {
            throw new SinkUnavailableException(unavailable.Message, unavailable);
        }
    }
}

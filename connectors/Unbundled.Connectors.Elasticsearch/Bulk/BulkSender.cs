using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.Core.Bulk;
using Elastic.Transport;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch.Bulk;

/// <summary>
/// Sends a <see cref="BulkBody"/> through the client's transport and reads the per-item results into
/// the client's own response type. The client's typed <c>BulkRequest</c> is not used: it serialises an
/// operation object per document, and through an in-memory transport it reached 0.035 of
/// System.Text.Json's documents/s on the es-bulk-encode documents, against 0.21 for this path.
/// </summary>
internal sealed class BulkSender(ElasticsearchClient client)
{
    private static readonly EndpointPath Path = new(Elastic.Transport.HttpMethod.POST, "/_bulk");

    // The media types the client's own bulk requests carry (plain NDJSON in, JSON out).
    private static readonly RequestConfiguration Ndjson = new() { ContentType = "application/x-ndjson", Accept = "application/json" };

    /// <summary>Sends <paramref name="body"/> holding <paramref name="count"/> documents and returns each item's result, in the order of the body.</summary>
    public async Task<IReadOnlyList<ResponseItem>> SendAsync(PostData body, int count, CancellationToken cancellationToken)
    {
        var response = await client.Transport.RequestAsync<BulkResponse>(Path, body, null, Ndjson, cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, "bulk", cancellationToken);
        var items = response.Items?.ToList() ?? [];
        // Results are matched to documents by position: an answer that does not line up cannot be read.
        if (items.Count != count) throw new SinkUnavailableException($"Elasticsearch answered a bulk of {count} documents with {items.Count} results");
        return items;
    }
}

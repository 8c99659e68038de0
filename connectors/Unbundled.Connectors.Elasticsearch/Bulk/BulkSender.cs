using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.Core.Bulk;
using Elastic.Transport;
using Unbundled.Connectors.Elasticsearch.Cluster;

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

    // NDJSON in the vendored form the client uses for its own bulk requests (REST API compatibility).
    private static readonly RequestConfiguration Ndjson = new()
    {
        ContentType = "application/vnd.elasticsearch+x-ndjson;compatible-with=9",
        Accept = "application/vnd.elasticsearch+json;compatible-with=9",
    };

    /// <summary>Sends <paramref name="body"/> and returns each item's result, in the order of the body.</summary>
    public async Task<IReadOnlyList<ResponseItem>> SendAsync(PostData body, CancellationToken cancellationToken)
    {
        var response = await client.Transport.RequestAsync<BulkResponse>(Path, body, null, Ndjson, cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, "bulk", cancellationToken);
        return response.Items as IReadOnlyList<ResponseItem> ?? response.Items.ToList();
    }
}

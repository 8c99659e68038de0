using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.QueryDsl;
using Unbundled.Sdk.Sinks;
using SinkSearchRequest = Unbundled.Sdk.Sinks.SearchRequest;

namespace Unbundled.Connectors.Elasticsearch.Cluster;

/// <summary>Reads a view's documents: one by id, or a page of a query_string search.</summary>
internal sealed class DocumentReader(ElasticsearchClient client, TimeSpan searchTimeout)
{
    /// <summary>One document's source by id, or null.</summary>
    public async Task<JsonObject?> GetAsync(string index, string id, CancellationToken cancellationToken)
    {
        var response = await client.GetAsync<JsonObject>(new GetRequest(index, id), cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"get {index}/{id}", cancellationToken, tolerated: 404);
        return response.Found ? response.Source : null;
    }

    /// <summary>A page of the documents matching the request's query_string, best first.</summary>
    public async Task<SearchResult> SearchAsync(string index, SinkSearchRequest request, CancellationToken cancellationToken)
    {
        Query query = new QueryStringQuery { Query = request.Query };
        // The owner filter goes inside the query (exact, on the keyword form), so totals and pages count only what the caller may see.
        if (request.Filter is { } filter)
            query = new BoolQuery { Must = [query], Filter = [new TermQuery { Field = filter.Field + ".keyword", Value = filter.Value }] };
        var search = new Elastic.Clients.Elasticsearch.SearchRequest(index)
        {
            Query = query,
            From = request.From,
            Size = request.Limit,
            // Elasticsearch stops collecting at the timeout, so one costly query cannot hold the cluster.
            Timeout = $"{(long)searchTimeout.TotalMilliseconds}ms",
        };
        var response = await client.SearchAsync<JsonObject>(search, cancellationToken).ConfigureAwait(false);
        try
        {
            ResponseCheck.Ensure(response, $"search {index}", cancellationToken);
        }
        catch (ElasticsearchRequestException refused) when (refused.Status == 400)
        {
            throw new InvalidQueryException($"'{request.Query}' is not a query Elasticsearch accepts: {refused.Message}", refused);
        }
        return new SearchResult(response.Total, response.Hits.Select(hit => new SearchHit(hit.Id!, hit.Score ?? 0, hit.Source!)).ToList());
    }
}

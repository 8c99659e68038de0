using System.Text.Json.Nodes;
using Elastic.Clients.Elasticsearch;
using Elastic.Clients.Elasticsearch.IndexManagement;
using Elastic.Transport;
using IndexExistsRequest = Elastic.Clients.Elasticsearch.IndexManagement.ExistsRequest;

namespace Unbundled.Connectors.Elasticsearch.Cluster;

/// <summary>The index and alias calls a generational sink needs: exists, create, refresh, alias swap, delete.</summary>
internal sealed class IndexAdmin(ElasticsearchClient client)
{
    /// <summary>Whether an index or alias of that name exists.</summary>
    public async Task<bool> ExistsAsync(string index, CancellationToken cancellationToken)
    {
        var response = await client.Indices.ExistsAsync(new IndexExistsRequest(index), cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"check index {index}", cancellationToken, tolerated: 404);
        return response.Exists;
    }

    /// <summary>Creates an index with a settings/mappings body (null: dynamic mapping), pointing <paramref name="alias"/> at it when given.</summary>
    public async Task CreateAsync(string index, string? definition, string? alias, CancellationToken cancellationToken)
    {
        var body = definition is { Length: > 0 } ? JsonNode.Parse(definition)!.AsObject() : new JsonObject();
        if (alias is not null) body["aliases"] = new JsonObject { [alias] = new JsonObject() };
        // External versions of deleted documents are forgotten after index.gc_deletes (60 s by
        // default); after that a replayed older write would bring a deleted document back. A day
        // covers retries and ordinary replays; a full rebuild writes a fresh index anyway.
        var settings = body["settings"] as JsonObject ?? (JsonObject)(body["settings"] = new JsonObject());
        if (settings["index.gc_deletes"] is null && settings["index"]?["gc_deletes"] is null) settings["index.gc_deletes"] = "1d";
        // The user's definition goes to Elasticsearch as written: read into the client's typed
        // settings and mappings it could come back reshaped, or without what the types do not know.
        var path = new EndpointPath(Elastic.Transport.HttpMethod.PUT, "/" + Uri.EscapeDataString(index));
        var response = await client.Transport.RequestAsync<CreateIndexResponse>(path, PostData.String(body.ToJsonString()), null, null, cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"create index {index}", cancellationToken);
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="index"/> alone, in one atomic alias update.</summary>
    public async Task MoveAliasAsync(string alias, string index, CancellationToken cancellationToken)
    {
        var current = await client.Indices.GetAliasAsync(new GetAliasRequest((Names)alias), cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(current, $"read alias {alias}", cancellationToken, tolerated: 404);
        // 404: the alias does not exist yet, so there is nothing to move it from.
        IEnumerable<string> targets = current.ApiCallDetails.HttpStatusCode == 404 ? [] : current.Aliases?.Keys ?? [];
        var actions = targets.Select(target => (IndexUpdateAliasesAction)new RemoveAction { Index = target, Alias = alias }).ToList();
        actions.Add(new AddAction { Index = index, Alias = alias });
        var response = await client.Indices.UpdateAliasesAsync(new UpdateAliasesRequest { Actions = actions }, cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"move alias {alias} to {index}", cancellationToken);
    }

    /// <summary>Deletes an index (nothing when it does not exist).</summary>
    public async Task DeleteAsync(string index, CancellationToken cancellationToken)
    {
        var response = await client.Indices.DeleteAsync(new DeleteIndexRequest(index), cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"delete index {index}", cancellationToken, tolerated: 404);
    }

    /// <summary>Makes everything indexed so far searchable (search is near-real-time; get is not).</summary>
    public async Task RefreshAsync(string index, CancellationToken cancellationToken)
    {
        var response = await client.Indices.RefreshAsync(new RefreshRequest(index), cancellationToken).ConfigureAwait(false);
        ResponseCheck.Ensure(response, $"refresh {index}", cancellationToken);
    }
}

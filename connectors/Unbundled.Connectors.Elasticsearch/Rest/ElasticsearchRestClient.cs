using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Connectors.Elasticsearch.Rest;

/// <summary>
/// The few Elasticsearch REST calls the connector needs, over HttpClient and System.Text.Json —
/// kept apart from the connector so an official client could replace it.
/// </summary>
public sealed class ElasticsearchRestClient(HttpClient http)
{
    /// <summary>A client for <paramref name="options"/>' URL, authentication and TLS settings.</summary>
    public static ElasticsearchRestClient Create(ElasticsearchOptions options)
    {
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (options.InsecureSkipVerify) handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        var http = new HttpClient(handler) { BaseAddress = new Uri(options.Url.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (options.ApiKey is { Length: > 0 } key) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        else if (options.Username is { Length: > 0 } user)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{options.Password}")));
        return new ElasticsearchRestClient(http);
    }

    /// <summary>Whether an index or alias of that name exists.</summary>
    public async Task<bool> ExistsAsync(string index, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Head, Escape(index)), cancellationToken).ConfigureAwait(false);
        return response.StatusCode == HttpStatusCode.OK;
    }

    /// <summary>Creates an index with a settings/mappings body (null: dynamic mapping), pointing <paramref name="alias"/> at it when given.</summary>
    public async Task CreateIndexAsync(string index, string? definition, string? alias, CancellationToken cancellationToken)
    {
        var body = definition is { Length: > 0 } ? JsonNode.Parse(definition)!.AsObject() : new JsonObject();
        if (alias is not null) body["aliases"] = new JsonObject { [alias] = new JsonObject() };
        // External versions of deleted documents are forgotten after index.gc_deletes (60 s by
        // default); after that a replayed older write would bring a deleted document back. A day
        // covers retries and ordinary replays; a full rebuild writes a fresh index anyway.
        var settings = body["settings"] as JsonObject ?? (JsonObject)(body["settings"] = new JsonObject());
        if (settings["index.gc_deletes"] is null && settings["index"]?["gc_deletes"] is null) settings["index.gc_deletes"] = "1d";
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Put, Escape(index)) { Content = Json(body) }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, $"create index {index}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The indices an alias points at (none when the alias does not exist).</summary>
    public async Task<IReadOnlyList<string>> AliasTargetsAsync(string alias, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"_alias/{Escape(alias)}"), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return [];
        await EnsureAsync(response, $"read alias {alias}", cancellationToken).ConfigureAwait(false);
        return (await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false)).Select(index => index.Key).ToList();
    }

    /// <summary>Points <paramref name="alias"/> at <paramref name="index"/> alone, in one atomic alias update.</summary>
    public async Task MoveAliasAsync(string alias, string index, CancellationToken cancellationToken)
    {
        var actions = new JsonArray();
        foreach (var current in await AliasTargetsAsync(alias, cancellationToken).ConfigureAwait(false))
            actions.Add(new JsonObject { ["remove"] = new JsonObject { ["index"] = current, ["alias"] = alias } });
        actions.Add(new JsonObject { ["add"] = new JsonObject { ["index"] = index, ["alias"] = alias } });
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, "_aliases") { Content = Json(new JsonObject { ["actions"] = actions }) }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, $"move alias {alias} to {index}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes an index (nothing when it does not exist).</summary>
    public async Task DeleteIndexAsync(string index, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, Escape(index)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.NotFound) await EnsureAsync(response, $"delete index {index}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a bulk body and returns each item's result, in order.</summary>
    public async Task<IReadOnlyList<BulkItemResult>> BulkAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var content = new ReadOnlyMemoryContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-ndjson");
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, "_bulk") { Content = content }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, "bulk", cancellationToken).ConfigureAwait(false);
        var result = await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
        return result["items"]!.AsArray().Select(item => BulkItemResult.From(item!.AsObject())).ToList();
    }

    /// <summary>Makes everything indexed so far searchable (search is near-real-time; get is not).</summary>
    public async Task RefreshAsync(string index, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, $"{Escape(index)}/_refresh"), cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, $"refresh {index}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One document's source by id, or null.</summary>
    public async Task<JsonObject?> GetAsync(string index, string id, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, $"{Escape(index)}/_doc/{Escape(id)}"), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(response, $"get {index}/{id}", cancellationToken).ConfigureAwait(false);
        return (await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false))["_source"] as JsonObject;
    }

    /// <summary>Runs a search body (the Query DSL, passed through) and returns Elasticsearch's answer.</summary>
    public async Task<JsonObject> SearchAsync(string index, JsonObject body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, $"{Escape(index)}/_search") { Content = Json(body) }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, $"search {index}", cancellationToken).ConfigureAwait(false);
        return await ReadJsonAsync(response, cancellationToken).ConfigureAwait(false);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
            try
            {
                return await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException error)
            {
                throw new ElasticsearchUnavailableException($"Elasticsearch at {http.BaseAddress} cannot be reached: {error.Message}", error);
            }
        }
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var message = $"Elasticsearch refused {what}: {(int)response.StatusCode} {body}";
        if ((int)response.StatusCode is 429 or >= 500) throw new ElasticsearchUnavailableException(message);
        throw new ElasticsearchRequestException((int)response.StatusCode, message);
    }

    private static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        (await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false))!.AsObject();

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static string Escape(string segment) => Uri.EscapeDataString(segment);
}

/// <summary>One item of a bulk response.</summary>
/// <param name="Status">The item's HTTP status.</param>
/// <param name="ErrorType">The error's type (<c>version_conflict_engine_exception</c>, <c>document_parsing_exception</c>…), if any.</param>
/// <param name="ErrorReason">The error's reason, if any.</param>
public sealed record BulkItemResult(int Status, string? ErrorType, string? ErrorReason)
{
    /// <summary>Reads one entry of a bulk response's <c>items</c>.</summary>
    public static BulkItemResult From(JsonObject item)
    {
        var result = (item["index"] ?? item["delete"] ?? item["create"] ?? item["update"])!.AsObject();
        var error = result["error"] as JsonObject;
        return new BulkItemResult((int)result["status"]!, (string?)error?["type"], (string?)error?["reason"]);
    }
}

/// <summary>Elasticsearch cannot take requests now (unreachable, 429, 5xx): retry later.</summary>
public sealed class ElasticsearchUnavailableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Elasticsearch refused a request for good (4xx).</summary>
public sealed class ElasticsearchRequestException(int status, string message) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;
}

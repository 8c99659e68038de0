using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>The double's own behaviour, pinned to what Elastic's reference documents, so the connector is tested against the API and not against our guesses.</summary>
public abstract class ElasticsearchDoubleTests : IAsyncLifetime
{
    /// <summary>The double under test, one per test class instance.</summary>
    protected ElasticsearchDouble Server { get; private set; } = null!;
    /// <summary>A plain client of it.</summary>
    protected HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await ElasticsearchDouble.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri(Server.Url) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    protected Task<HttpResponseMessage> BulkAsync(string body, string contentType = "application/x-ndjson") =>
        Http.PostAsync("/_bulk", new StringContent(body, Encoding.UTF8, contentType));

    protected Task<HttpResponseMessage> PutAsync(string index, string body) =>
        Http.PutAsync($"/{index}", new StringContent(body, Encoding.UTF8, "application/json"));

    protected Task<HttpResponseMessage> SearchAsync(string index, string body) =>
        Http.PostAsync($"/{index}/_search", new StringContent(body, Encoding.UTF8, "application/json"));

    protected async Task<List<string>> IdsAsync(string index, string body)
    {
        var response = await SearchAsync(index, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_id"]!).Order().ToList();
    }

    protected Task<List<string>> QueryAsync(string index, string query) =>
        IdsAsync(index, new JsonObject { ["query"] = new JsonObject { ["query_string"] = new JsonObject { ["query"] = query } } }.ToJsonString());

    protected static async Task<string?> ErrorTypeAsync(HttpResponseMessage response, bool rootCause = false)
    {
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        return rootCause ? (string?)error["root_cause"]![0]!["type"] : (string?)error["type"];
    }

    protected static string Index(string index, string id, string source) =>
        $$$"""{"index":{"_index":"{{{index}}}","_id":"{{{id}}}"}}""" + "\n" + source + "\n";

}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>The OpenAPI document the server serves: every endpoint in it, and each error response naming its problem types.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class ApiDocumentTests : IAsyncLifetime
{
    private RunningServer _server = null!;
    private JsonObject _document = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync();
        using var response = await _server.Client.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        _document = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private JsonObject Operation(string path, string method) =>
        _document["paths"]?[path]?[method]?.AsObject() ?? throw new Xunit.Sdk.XunitException($"the document has no {method} {path}");

    [Theory]
    [InlineData("/models/{type}/{id}/flush", "post")]
    [InlineData("/models/{type}/{id}", "get")]
    [InlineData("/models/{type}/{id}/commands", "get")]
    [InlineData("/pipelines", "get")]
    [InlineData("/pipelines/{name}", "get")]
    [InlineData("/pipelines/{name}/dead-letters", "get")]
    [InlineData("/pipelines/{name}/dead-letters/{id}", "get")]
    [InlineData("/pipelines/{name}/dead-letters/{id}", "delete")]
    [InlineData("/pipelines/{name}/dead-letters/replay", "post")]
    [InlineData("/pipelines/{name}/rebuild", "post")]
    [InlineData("/views/{pipeline}/{key}", "get")]
    [InlineData("/search/{pipeline}", "get")]
    [InlineData("/feeds/{pipeline}", "get")]
    [InlineData("/auth/feed-token", "post")]
    public void Every_endpoint_is_described_with_a_summary_and_its_problems(string path, string method)
    {
        var operation = Operation(path, method);

        Assert.False(string.IsNullOrWhiteSpace((string?)operation["summary"]), $"{method} {path} has no summary");
        var problems = operation["responses"]!.AsObject().Where(r => int.Parse(r.Key) >= 400).ToList();
        Assert.Contains(problems, r => r.Key == "401");
        Assert.All(problems, r =>
        {
            Assert.NotNull(r.Value!["content"]?["application/problem+json"]);
            Assert.StartsWith("urn:unbundled:problem:", (string?)r.Value["description"]);
        });
    }

    [Fact]
    public void The_flush_names_each_conflict_it_can_answer()
    {
        var conflict = (string?)Operation("/models/{type}/{id}/flush", "post")["responses"]!["409"]!["description"];

        Assert.Contains("urn:unbundled:problem:item-missing", conflict);
        Assert.Contains("urn:unbundled:problem:version-ahead", conflict);
    }

    [Fact]
    public async Task A_problem_the_server_answers_is_one_the_document_lists_for_that_endpoint_and_status()
    {
        using var response = await _server.Client.PostAsync("/models/todo-list/x/flush", new StringContent("""{"baseVersion":5,"commands":[]}""", Encoding.UTF8, "application/json"));
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        var described = (string?)Operation("/models/{type}/{id}/flush", "post")["responses"]![((int)response.StatusCode).ToString()]?["description"];
        Assert.Contains($"{(string?)problem["type"]}:", described);
    }
}

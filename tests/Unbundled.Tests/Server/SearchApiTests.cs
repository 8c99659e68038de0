using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>Full-text search through the server's read API, over the embedded Lucene view.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class SearchApiTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index", analyzer: english }
              journal: { connector: ndjson, directory: "{{_directory.Path}}/journal" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index }
              journal: { from: lists, projection: todo-items, to: journal }
            """, 2);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_search_after_a_flush_finds_the_new_todo_by_a_stemmed_word()
    {
        var flush = await _server.Client.PostAsync("/models/todo-list/home/flush", new StringContent(
            """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Home","todos":[{"id":"p","title":"Call the plumbers"}]}}]}""",
            Encoding.UTF8, "application/json"));
        var position = (long)(await flush.Content.ReadFromJsonAsync<JsonObject>())!["position"]!;

        var found = (await _server.Client.GetFromJsonAsync<JsonObject>($"/search/search?q=plumber&atPosition={position}"))!;

        Assert.Equal(1, (long)found["total"]!);
        Assert.Equal("home:p", (string?)found["hits"]![0]!["key"]);
        Assert.Equal("Call the plumbers", (string?)found["hits"]![0]!["document"]!["title"]);
    }

    [Theory]
    [InlineData("/search/search?q=title:(x", "invalid-query")]
    [InlineData("/search/search", "invalid-query")]
    [InlineData("/search/journal?q=x", "not-searchable")]
    public async Task Bad_searches_get_problem_responses(string path, string problem)
    {
        var response = await _server.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("urn:unbundled:problem:" + problem, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
    }
}

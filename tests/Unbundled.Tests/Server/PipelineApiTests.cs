using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>The pipeline endpoints of a real server on the embedded defaults (SQLite log, embedded Garnet cache).</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PipelineApiTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              cache: { connector: redis, key: "todo:{listId}:{id}" }
              lists: { connector: ndjson, directory: "{{_directory.Path}}/lists" }
            pipelines:
              items: { from: lists, projection: todo-items, to: cache }
              titles:
                from: lists
                select: { fields: { title: after.title } }
                to: lists
                batch: { max-size: 10, max-delay: 300ms }
            """, 2);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<long> FlushAsync(string body)
    {
        var response = await _server.Client.PostAsync("/models/todo-list/groceries/flush", new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["position"]!;
    }

    [Fact]
    public async Task A_read_that_names_the_flush_position_sees_the_flush()
    {
        var position = await FlushAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Groceries","todos":[{"id":"milk","title":"Milk"}]}}]}""");

        // The titles pipeline waits 300 ms to fill its batches, so only a read that waits sees the change.
        var read = await ReadAsync($"/views/titles/groceries?atPosition={position}");
        var item = await ReadAsync($"/views/items/todo:groceries:milk?atPosition={position}");

        Assert.Equal("Groceries", (string?)read["document"]!["title"]);
        Assert.True((long)read["offset"]! >= position);
        Assert.Equal("Milk", (string?)item["document"]!["title"]);
    }

    private async Task<JsonObject> ReadAsync(string path)
    {
        var response = await _server.Client.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"{path}: {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    [Fact]
    public async Task A_read_waiting_for_a_position_the_view_never_reaches_times_out_with_a_problem()
    {
        var response = await _server.Client.GetAsync("/views/items/todo:x:y?atPosition=999999&timeoutMs=200");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("urn:unbundled:problem:view-behind", (string?)problem["type"]);
        Assert.Equal(999999, (long)problem["atPosition"]!);
    }

    [Fact]
    public async Task Unknown_pipelines_and_documents_get_problem_responses()
    {
        var pipeline = await _server.Client.GetAsync("/views/nope/x");
        var document = await _server.Client.GetAsync("/views/items/todo:none:none");

        Assert.Equal(HttpStatusCode.NotFound, pipeline.StatusCode);
        Assert.Equal("urn:unbundled:problem:unknown-pipeline", (string?)(await pipeline.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        Assert.Equal("urn:unbundled:problem:document-not-found", (string?)(await document.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
    }

    [Fact]
    public async Task Status_dead_letters_and_health_describe_every_pipeline()
    {
        var position = await FlushAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"G","todos":[]}}]}""");
        await _server.Client.GetAsync($"/views/titles/groceries?atPosition={position}");

        var pipelines = (await _server.Client.GetFromJsonAsync<JsonArray>("/pipelines"))!;
        var letters = (await _server.Client.GetFromJsonAsync<JsonObject>("/pipelines/items/dead-letters"))!;
        var health = await _server.Client.GetAsync("/health");

        Assert.Equal(["items", "titles"], pipelines.Select(p => (string?)p!["name"]));
        Assert.All(pipelines, p => Assert.Contains((string?)p!["state"], new[] { "Running", "CatchingUp" }));
        Assert.Equal(0, (long)letters["total"]!);
        Assert.Equal("Healthy", await health.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Status_reports_a_source_out_of_reach_in_the_pipeline_and_still_answers_for_the_others()
    {
        using var directory = new TempDirectory();
        var file = directory.File("pipelines.yaml");
        // Nothing listens on the port: the source's head and slot cannot be read.
        await File.WriteAllTextAsync(file, $$"""
            sources:
              lists: { models: [todo-list] }
              shop:
                connector: postgres
                connection: "Host=127.0.0.1;Port={{Unbundled.Testing.ServerProcess.FreePort()}};Username=u;Password=p;Database=d;Timeout=2"
                tables: [public.orders]
            sinks:
              cache: { connector: redis, key: "{key}" }
            pipelines:
              items: { from: lists, projection: todo-items, to: cache }
              orders: { from: shop, select: { fields: { status: after.status } }, to: cache }
            """);
        await using var server = await RunningServer.StartAsync($"--Unbundled:Pipelines:File={file}");

        var response = await server.Client.GetAsync("/pipelines");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var pipelines = (await response.Content.ReadFromJsonAsync<JsonArray>())!.ToDictionary(p => (string)p!["name"]!);
        Assert.Contains("Failed to connect", (string?)pipelines["orders"]!["source"]?["error"]);
        Assert.Null(pipelines["items"]!["source"]);
        var one = await server.Client.GetAsync("/pipelines/orders");
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
    }
}

using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The unbundled CREATE INDEX: a view rebuilt from the log as a new generation under continuous
/// writes, while a reader keeps querying the live one, then swapped in.
/// </summary>
public sealed class RebuildTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index" }
              scratch: { connector: lucene, directory: "{{_directory.Path}}/scratch" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index, batch: { max-size: 200 } }
              reference: { from: lists, projection: todo-items, to: scratch }
            """);
        _server = await RunningServer.StartAsync($"--Unbundled:Pipelines:File={pipelines}");
        await _server.WaitForPipelinesAsync(2);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_rebuild_under_continuous_writes_swaps_in_a_complete_view_and_readers_never_see_an_error_or_an_empty_index()
    {
        var http = _server.Client;
        // One new list per flush (a list holds at most 100 todos in the demo model), each with one todo.
        for (var i = 0; i < 300; i++) await FlushAsync(http, $"seed-{i}", NewList($"t{i}", $"todo {i}"));

        using var stop = new CancellationTokenSource();
        var flushes = 0;
        var writers = Enumerable.Range(0, 4).Select(list => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await FlushAsync(http, $"w{list}-{i}", NewList($"w{i}", "todo written during the rebuild"));
                Interlocked.Increment(ref flushes);
            }
        })).ToList();
        var readerFailures = new List<string>();
        var reads = 0;
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var response = await http.GetAsync("/search/search?q=todo&limit=1");
                var body = await response.Content.ReadAsStringAsync();
                if (response.StatusCode != HttpStatusCode.OK || (long)JsonNode.Parse(body)!["total"]! == 0) lock (readerFailures) readerFailures.Add(body);
                Interlocked.Increment(ref reads);
            }
        });

        await Task.Delay(500);
        var clock = Stopwatch.StartNew();
        var started = await http.PostAsync("/pipelines/search/rebuild", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var again = await http.PostAsync("/pipelines/search/rebuild", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        JsonObject status;
        do
        {
            await Task.Delay(100);
            status = (await http.GetFromJsonAsync<JsonObject>("/pipelines/search"))!;
        }
        while ((int)status["generation"]! == 0 && clock.Elapsed < TimeSpan.FromSeconds(60));
        var rate = flushes / clock.Elapsed.TotalSeconds;
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await reader;

        Assert.Equal(1, (int)status["generation"]!);
        Assert.Null(status["rebuild"]);
        Assert.True(rate >= 200, $"only {rate:0} flushes/s during the rebuild");
        Assert.Empty(readerFailures);
        Assert.True(reads > 10);

        var head = (long)(await http.GetFromJsonAsync<JsonObject>("/pipelines/search"))!["head"]!;
        var rebuilt = await AllAsync(http, "search", head);
        var reference = await AllAsync(http, "reference", head);
        Assert.Equal(reference.Count, rebuilt.Count);
        Assert.Equal(reference, rebuilt);
        Assert.True(rebuilt.Count > 300);
    }

    private static string NewList(string todo, string title) =>
        $$$"""{"op":"create","path":"","value":{"title":"list","todos":[{"id":"{{{todo}}}","title":"{{{title}}}"}]}}""";

    private static async Task FlushAsync(HttpClient http, string list, string command)
    {
        var response = await http.PostAsync($"/models/todo-list/{list}/flush",
            new StringContent($$"""{"baseVersion":0,"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    private static async Task<Dictionary<string, string>> AllAsync(HttpClient http, string pipeline, long head)
    {
        var found = (await http.GetFromJsonAsync<JsonObject>($"/search/{pipeline}?q=todo&limit=100000&atPosition={head}&timeoutMs=20000"))!;
        return found["hits"]!.AsArray().ToDictionary(h => (string)h!["key"]!, h => h!["document"]!.ToJsonString());
    }
}

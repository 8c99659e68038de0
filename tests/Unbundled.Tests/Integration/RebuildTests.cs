using Unbundled.Testing;
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
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RebuildTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index" }
              scratch: { connector: lucene, directory: "{{_directory.Path}}/scratch" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index, batch: { max-size: 200 } }
              reference: { from: lists, projection: todo-items, to: scratch }
            """, 2);
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
        var seeded = 0L;
        for (var i = 0; i < 300; i++) seeded = await FlushAsync(http, $"seed-{i}", NewList($"t{i}", $"todo {i}"));
        (await http.GetAsync($"/search/search?q=todo&atPosition={seeded}&timeoutMs=20000")).EnsureSuccessStatusCode();

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
        var flushesBefore = Volatile.Read(ref flushes);
        var started = await http.PostAsync("/pipelines/search/rebuild", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var again = await http.PostAsync("/pipelines/search/rebuild", null);
        // A second rebuild is refused while the first runs; one accepted means the first had already swapped in
        // (a fast machine can finish a small rebuild between two requests), never that two ran at once.
        var expected = 1;
        if (again.StatusCode != HttpStatusCode.Conflict)
        {
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            Assert.True((int)(await again.Content.ReadFromJsonAsync<JsonObject>())!["generation"]! >= 1, "a second rebuild was accepted while the first ran");
            expected = 2;
        }
        JsonObject status;
        do
        {
            await Task.Delay(100);
            status = (await http.GetFromJsonAsync<JsonObject>("/pipelines/search"))!;
        }
        while (((int)status["generation"]! < expected || status["rebuild"] is not null) && clock.Elapsed < TimeSpan.FromSeconds(60));
        var flushesDuring = Volatile.Read(ref flushes) - flushesBefore;
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        await reader;

        Assert.Equal(expected, (int)status["generation"]!);
        Assert.Null(status["rebuild"]);
        // Writes really went on while the rebuild ran (the rate it holds is the bench's business, not this test's; how many
        // land in the window depends on how fast the rebuild is, and 20 failed a CI run whose rebuild was quick).
        Assert.True(flushesDuring >= 1, "no flush was answered while the rebuild ran");
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

    private static async Task<long> FlushAsync(HttpClient http, string list, string command)
    {
        var response = await http.PostAsync($"/models/todo-list/{list}/flush",
            new StringContent($$"""{"baseVersion":0,"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
        // The problem's body says why, should a flush ever fail here (once seen as a bare 500 in CI).
        Assert.True(response.IsSuccessStatusCode, $"flush of {list}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["position"]!;
    }

    private static async Task<Dictionary<string, string>> AllAsync(HttpClient http, string pipeline, long head)
    {
        var all = new Dictionary<string, string>();
        for (var from = 0; ; from += 1000)
        {
            var found = (await http.GetFromJsonAsync<JsonObject>($"/search/{pipeline}?q=todo&limit=1000&from={from}&atPosition={head}&timeoutMs=20000"))!;
            foreach (var hit in found["hits"]!.AsArray()) all[(string)hit!["key"]!] = hit["document"]!.ToJsonString();
            if (from + 1000 >= (long)found["total"]!) return all;
        }
    }
}

/// <summary>A rebuild interrupted by a crash finishes the same generation when the server comes back.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RebuildRecoveryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Killing_the_server_during_a_rebuild_and_starting_it_again_finishes_the_same_generation()
    {
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index", commit-interval: 0 }
              scratch: { connector: lucene, directory: "{{_directory.Path}}/scratch" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index, batch: { max-size: 20 } }
              reference: { from: lists, projection: todo-items, to: scratch }
            """);
        var port = ServerProcess.FreePort();
        string[] settings = ["--Unbundled:Log:Provider=sqlite", $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}",
            "--Unbundled:Redis:Connection=", $"--Unbundled:Pipelines:File={pipelines}"];
        var environment = new Dictionary<string, string>();

        long offsetBeforeKill;
        using (var first = await ServerProcess.StartAsync(port, environment, settings))
        {
            using var http = new HttpClient { BaseAddress = first.Address };
            for (var list = 0; list < 60; list++)
            {
                var commands = string.Join(",", Enumerable.Range(0, 20).Select(i => $$$"""{"op":"create","path":"/todos/-","value":{"id":"t{{{i}}}","title":"todo {{{i}}}"}}"""));
                var response = await http.PostAsync($"/models/todo-list/l{list}/flush", new StringContent(
                    $$$"""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"list","todos":[]}},{{{commands}}}]}""", Encoding.UTF8, "application/json"));
                response.EnsureSuccessStatusCode();
            }
            await WaitAsync(http, status => (long)status["offset"]! == (long)status["head"]! && (long)status["head"]! == 1260);
            Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync("/pipelines/search/rebuild", null)).StatusCode);
            var during = await WaitAsync(http, status => status["rebuild"] is JsonObject rebuild && (long)rebuild["offset"]! > 200);
            offsetBeforeKill = (long)during["rebuild"]!["offset"]!;
            first.Kill();
        }

        using var second = await ServerProcess.StartAsync(port, environment, settings);
        using var client = new HttpClient { BaseAddress = second.Address };
        var resumed = (await client.GetFromJsonAsync<JsonObject>("/pipelines/search"))!;
        Assert.True(resumed["rebuild"] is JsonObject || (int)resumed["generation"]! == 1, resumed.ToJsonString());
        // The index commits every batch here (commit-interval 0): the kill lost at most the batch it interrupted.
        if (resumed["rebuild"] is JsonObject rebuilding) Assert.True((long)rebuilding["offset"]! >= offsetBeforeKill - 20, resumed.ToJsonString());
        var done = await WaitAsync(client, status => (int)status["generation"]! == 1 && status["rebuild"] is null);

        Assert.Equal(1, (int)done["generation"]!);
        var rebuilt = (await client.GetFromJsonAsync<JsonObject>("/search/search?q=todo&limit=10000&atPosition=1260"))!;
        var reference = (await client.GetFromJsonAsync<JsonObject>("/search/reference?q=todo&limit=10000&atPosition=1260"))!;
        Assert.Equal(1200, (long)rebuilt["total"]!);
        Assert.Equal((long)reference["total"]!, (long)rebuilt["total"]!);
    }

    private static async Task<JsonObject> WaitAsync(HttpClient http, Func<JsonObject, bool> condition)
    {
        for (var attempt = 0; attempt < 1200; attempt++)
        {
            var status = (await http.GetFromJsonAsync<JsonObject>("/pipelines/search"))!;
            if (condition(status)) return status;
            await Task.Delay(50);
        }
        throw new TimeoutException("the pipeline did not get there within 60 s");
    }

    public void Dispose() => _directory.Dispose();
}

/// <summary>Evolving a view: change its definition, see it reported stale, rebuild it.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class StaleViewTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private async Task<RunningServer> StartAsync(string field)
    {
        return await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index" }
            pipelines:
              titles:
                from: lists
                select: { fields: { {{field}}: after.title } }
                to: index
            """, 1, $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}");
    }

    [Fact]
    public async Task A_view_built_from_an_older_definition_is_reported_stale_until_it_is_rebuilt()
    {
        await using (var first = await StartAsync("title"))
        {
            var flush = await first.Client.PostAsync("/models/todo-list/a/flush", new StringContent(
                """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}]}""", Encoding.UTF8, "application/json"));
            flush.EnsureSuccessStatusCode();
            Assert.False((bool)(await first.Client.GetFromJsonAsync<JsonObject>("/pipelines/titles"))!["stale"]!);
        }

        await using var second = await StartAsync("name");
        Assert.True((bool)(await second.Client.GetFromJsonAsync<JsonObject>("/pipelines/titles"))!["stale"]!);

        Assert.Equal(HttpStatusCode.Accepted, (await second.Client.PostAsync("/pipelines/titles/rebuild", null)).StatusCode);
        JsonObject status;
        var attempts = 0;
        do
        {
            await Task.Delay(100);
            status = (await second.Client.GetFromJsonAsync<JsonObject>("/pipelines/titles"))!;
        }
        while ((int)status["generation"]! == 0 && ++attempts < 200);

        Assert.False((bool)status["stale"]!);
        var document = (await second.Client.GetFromJsonAsync<JsonObject>("/views/titles/a"))!["document"]!;
        Assert.Equal("Groceries", (string?)document["name"]);
    }

    public void Dispose() => _directory.Dispose();
}

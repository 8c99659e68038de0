using Unbundled.Testing;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Unbundled.Tests.Integration.Oracle;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The real server on PostgreSQL and Redis, killed (SIGKILL) on a timer while clients keep flushing and
/// pipelines are behind the head, then started again: every view must end equal to what an independent
/// oracle folds from the raw log rows, every acknowledged flush must be in the log, and the NDJSON
/// journal, append-only, must show each write once.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class CrashRecoveryTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(CrashRecoveryTests));
    private readonly string _prefix = $"crash-{Guid.NewGuid():N}:";
    private readonly TempDirectory _directory = new();
    private string _redis = "";

    public async Task InitializeAsync() => _redis = await Unbundled.Testing.LocalServices.GetAsync("UNBUNDLED_REDIS");

    [Fact]
    public async Task Killing_the_server_while_writers_run_and_pipelines_are_mid_batch_loses_no_event_and_applies_none_twice()
    {
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists:
                models: [todo-list]
            sinks:
              cache:
                connector: redis
                prefix: "{{_prefix}}"
                key: "todo:{listId}:{id}"
              journal:
                connector: ndjson
                directory: "{{_directory.Path}}/journal"
            pipelines:
              items-cache:
                from: lists
                projection: todo-items
                to: cache
                batch: { max-size: 5 }
              items-journal:
                from: lists
                projection: todo-items
                to: journal
                batch: { max-size: 3 }
            """);
        var port = ServerProcess.FreePort();
        var environment = new Dictionary<string, string> { ["UNBUNDLED_POSTGRES"] = postgres.ConnectionString, ["UNBUNDLED_REDIS"] = _redis };
        string[] settings = [$"--Unbundled:Log:Postgres:Schema={_schema}", $"--Unbundled:Pipelines:File={pipelines}"];
        var random = new Random(20261123);
        var acknowledged = new List<(string List, long Version)>();
        var lagsAtKill = new List<long>();

        var server = await ServerProcess.StartAsync(port, environment, settings);
        using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(5) };
        using var stop = new CancellationTokenSource();
        // Writers never pause for a kill: it lands while flushes are in flight and pipelines work.
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            var own = new Random(w);
            while (!stop.IsCancellationRequested)
            {
                if (await FlushSomethingAsync(http, own) is { } landed) lock (acknowledged) acknowledged.Add(landed);
            }
        })).ToList();
        try
        {
            for (var round = 0; round < 4; round++)
            {
                await Task.Delay(random.Next(300, 900));
                lagsAtKill.Add(await WaitForLagAsync(http));
                server.Kill();
                server.Dispose();
                server = await ServerProcess.StartAsync(port, environment, settings);
            }
            await Task.Delay(300);
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            await WaitForCatchUpAsync(http);
        }
        finally
        {
            await stop.CancelAsync();
            server.Dispose();
        }

        // Every kill landed with a pipeline behind the log's head, i.e. with work in flight.
        Assert.All(lagsAtKill, lag => Assert.True(lag > 0));

        var lists = await TodoItemsOracle.FoldAsync(postgres.ConnectionString, _schema);
        // Every flush a client saw acknowledged is in the log: acknowledged means durable.
        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, flush => Assert.True(lists[flush.List].Version >= flush.Version, $"{flush.List} v{flush.Version} was acknowledged but is not in the log"));

        var expected = TodoItemsOracle.Project(lists);
        Assert.NotEmpty(expected);
        var cache = await RedisViewAsync();
        Assert.Equal(expected.Keys.Order(), cache.Keys.Order());
        foreach (var (key, document) in expected) Assert.True(JsonNode.DeepEquals(document, cache[key]), $"{key}: {cache[key].ToJsonString()} != {document.ToJsonString()}");

        var (journal, writes) = ReadJournal();
        Assert.Equal(expected.Keys.Order(), journal.Keys.Order());
        foreach (var (key, document) in expected) Assert.True(JsonNode.DeepEquals(document, journal[key]), $"{key}: {journal[key].ToJsonString()} != {document.ToJsonString()}");
        // The journal is append-only: a write applied twice, or a batch redone after a kill, would show here.
        Assert.Equal(writes.Count, writes.Select(w => (w.Key, w.Version)).Distinct().Count());
        foreach (var byKey in writes.GroupBy(w => w.Key))
            Assert.True(byKey.Zip(byKey.Skip(1)).All(pair => pair.First.Position < pair.Second.Position), $"positions of {byKey.Key} go back");
    }

    [Fact]
    public async Task A_server_on_postgresql_stopped_with_sigterm_ends_cleanly()
    {
        var pipelines = _directory.File("stop.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              journal: { connector: ndjson, directory: "{{_directory.Path}}/stop-journal" }
            pipelines:
              items: { from: lists, projection: todo-items, to: journal }
            """);
        var port = ServerProcess.FreePort();
        var environment = new Dictionary<string, string> { ["UNBUNDLED_POSTGRES"] = postgres.ConnectionString, ["UNBUNDLED_REDIS"] = _redis };
        using var server = await ServerProcess.StartAsync(port, environment, $"--Unbundled:Log:Postgres:Schema={_schema}", $"--Unbundled:Pipelines:File={pipelines}");
        using var http = new HttpClient { BaseAddress = server.Address };
        await FlushSomethingAsync(http, new Random(1));

        var exitCode = await server.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("Unhandled", server.Errors);
        Assert.DoesNotContain("ObjectDisposedException", server.Errors);
    }

    /// <summary>Flushes one random command; returns the list and version when the server acknowledged it.</summary>
    private static async Task<(string, long)?> FlushSomethingAsync(HttpClient http, Random random)
    {
        var list = $"list-{random.Next(6)}";
        try
        {
            var model = (await http.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!;
            var version = (long)model["version"]!;
            var todos = model["state"]?["todos"] as JsonArray;
            var roll = random.Next(100);
            var command = todos is null ? """{"op":"create","path":"","value":{"title":"T","todos":[]}}"""
                : roll < 50 || todos.Count == 0 ? $$$"""{"op":"create","path":"/todos/-","value":{"id":"{{{Guid.NewGuid():N}}}","title":"t{{{roll}}}"}}"""
                : roll < 70 ? """{"op":"update","path":"/todos/0/done","value":true}"""
                : roll < 85 ? """{"op":"delete","path":"/todos/0"}"""
                : roll < 95 ? $$"""{"op":"update","path":"/title","value":"T{{roll}}"}"""
                : """{"op":"delete","path":""}""";
            using var response = await http.PostAsync($"/models/todo-list/{list}/flush",
                new StringContent($$"""{"baseVersion":{{version}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode) return null;
            return (list, (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!);
        }
        catch (Exception error) when (error is HttpRequestException or HttpIOException or TaskCanceledException or System.Text.Json.JsonException)
        {
            // The server is being killed: whether this flush landed, the log alone says.
            await Task.Delay(50);
            return null;
        }
    }

    /// <summary>Waits until some pipeline is behind the head (work in flight) and returns that lag.</summary>
    private static async Task<long> WaitForLagAsync(HttpClient http)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            try
            {
                var lag = (await http.GetFromJsonAsync<JsonArray>("/pipelines"))!.Max(p => (long)p!["head"]! - (long)p["offset"]!);
                if (lag > 0) return lag;
            }
            // A kill can land while a response is read: the body then ends early (HttpIOException, not an HttpRequestException).
            catch (Exception error) when (error is HttpRequestException or HttpIOException) { }
            await Task.Delay(5);
        }
        return 0;
    }

    private static async Task WaitForCatchUpAsync(HttpClient http)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            var pipelines = (await http.GetFromJsonAsync<JsonArray>("/pipelines"))!;
            if (pipelines.Count == 2 && pipelines.All(p => (long)p!["offset"]! == (long)p["head"]!)) return;
            await Task.Delay(200);
        }
        Assert.Fail("the pipelines did not catch up within 60 s");
    }

    private async Task<Dictionary<string, JsonNode>> RedisViewAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis);
        var server = redis.GetServers()[0];
        var view = new Dictionary<string, JsonNode>();
        foreach (var key in server.Keys(pattern: _prefix + "todo:*", pageSize: 1000).ToList())
            view[key.ToString()[(_prefix.Length + "todo:".Length)..]] = JsonNode.Parse((await redis.GetDatabase().StringGetAsync(key)).ToString())!;
        return view;
    }

    /// <summary>The NDJSON view and every committed write line, read from the files as any tool could.</summary>
    private (Dictionary<string, JsonNode> View, List<(string Key, long Version, long Position)> Writes) ReadJournal()
    {
        var view = new Dictionary<string, JsonNode>();
        var writes = new List<(string Key, long Version, long Position)>();
        var pending = new List<JsonObject>();
        var files = new[] { "view.ndjson", "changes.ndjson" }.Select(f => Path.Combine(_directory.Path, "journal", f)).Where(File.Exists);
        foreach (var line in files.SelectMany(File.ReadLines))
        {
            var entry = JsonNode.Parse(line)!.AsObject();
            if (entry["offset"] is null) { pending.Add(entry); continue; }
            foreach (var change in pending)
            {
                var key = (string)change["key"]!;
                writes.Add((key, (long)change["version"]!, (long)change["position"]!));
                if ((string?)change["op"] == "delete") view.Remove(key);
                else view[key] = change["doc"]!.DeepClone();
            }
            pending.Clear();
        }
        return (view, writes);
    }

    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

using Unbundled.Testing;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Pipelines.Events;
using Unbundled.Tests.Services;
using Unbundled.TodoApp.Projections;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The real server on PostgreSQL and Redis, killed (SIGKILL) at random points while clients keep
/// flushing, then started again: every view must end equal to a from-scratch recomputation of the log.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class CrashRecoveryTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(CrashRecoveryTests));
    private readonly string _prefix = $"crash-{Guid.NewGuid():N}:";
    private readonly TempDirectory _directory = new();
    private string _redis = "";

    public async Task InitializeAsync() => _redis = await Unbundled.Testing.LocalServices.GetAsync("UNBUNDLED_REDIS");

    [Fact]
    public async Task Killing_the_server_at_random_points_loses_no_event_and_applies_none_twice()
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

        var server = await ServerProcess.StartAsync(port, environment, settings);
        try
        {
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(5) };
            for (var round = 0; round < 4; round++)
            {
                var flushes = random.Next(30, 60);
                for (var i = 0; i < flushes; i++) await FlushSomethingAsync(http, random);
                await Task.Delay(random.Next(0, 40));
                server.Kill();
                server.Dispose();
                server = await ServerProcess.StartAsync(port, environment, settings);
            }
            await WaitForCatchUpAsync(http);
        }
        finally
        {
            server.Dispose();
        }

        var expected = await RecomputeAsync();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Select(k => _prefix + "todo:" + k).Order(), (await RedisViewAsync()).Keys.Order());
        foreach (var (key, document) in await RedisViewAsync())
            Assert.Equal(expected[key[(_prefix.Length + "todo:".Length)..]], document);
        Assert.Equal(expected, JournalView());
    }

    private static async Task FlushSomethingAsync(HttpClient http, Random random)
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
            await http.PostAsync($"/models/todo-list/{list}/flush",
                new StringContent($$"""{"baseVersion":{{version}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
        }
        catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
        {
            // The server is being killed: whether this flush landed, the log alone says.
        }
    }

    private static async Task WaitForCatchUpAsync(HttpClient http)
    {
        for (var attempt = 0; attempt < 150; attempt++)
        {
            var pipelines = (await http.GetFromJsonAsync<JsonArray>("/pipelines"))!;
            if (pipelines.Count == 2 && pipelines.All(p => (long)p!["offset"]! == (long)p["head"]!)) return;
            await Task.Delay(200);
        }
        Assert.Fail("the pipelines did not catch up within 30 s");
    }

    /// <summary>The todo-items view computed from scratch: the whole log, replayed through the same projection.</summary>
    private async Task<Dictionary<string, string>> RecomputeAsync()
    {
        await using var log = new PostgresCommandLog(Options.Create(new PostgresLogOptions { ConnectionString = postgres.ConnectionString, Schema = _schema }));
        using var events = new ChangeEventReader(log, "unbundled");
        var projection = new TodoItemsProjection();
        var view = new Dictionary<string, string>();
        await foreach (var entry in ReadAllAsync(log))
        {
            foreach (var document in projection.Project(await events.ReadAsync(entry, default)))
            {
                if (document.IsDelete) view.Remove(document.Key);
                else view[document.Key] = document.Document!.ToJsonString();
            }
        }
        return view;
    }

    private static async IAsyncEnumerable<LogEntry> ReadAllAsync(ICommandLog log)
    {
        for (var after = 0L; ;)
        {
            var batch = await log.ReadAsync(after, 1000, default);
            if (batch.Count == 0) yield break;
            foreach (var entry in batch) yield return entry;
            after = batch[^1].Position;
        }
    }

    private async Task<Dictionary<string, string>> RedisViewAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis);
        var server = redis.GetServers()[0];
        var view = new Dictionary<string, string>();
        foreach (var key in server.Keys(pattern: _prefix + "todo:*", pageSize: 1000).ToList())
            view[key.ToString()] = (await redis.GetDatabase().StringGetAsync(key)).ToString();
        return view;
    }

    /// <summary>The NDJSON view, read from its snapshot and its journal's committed lines as any tool could.</summary>
    private Dictionary<string, string> JournalView()
    {
        var view = new Dictionary<string, string>();
        var pending = new List<JsonObject>();
        var files = new[] { "view.ndjson", "changes.ndjson" }.Select(f => Path.Combine(_directory.Path, "journal", f)).Where(File.Exists);
        foreach (var line in files.SelectMany(File.ReadLines))
        {
            var entry = JsonNode.Parse(line)!.AsObject();
            if (entry["offset"] is null) { pending.Add(entry); continue; }
            foreach (var change in pending)
            {
                if ((string?)change["op"] == "delete") view.Remove((string)change["key"]!);
                else view[(string)change["key"]!] = change["doc"]!.ToJsonString();
            }
            pending.Clear();
        }
        return view;
    }

    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

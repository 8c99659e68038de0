using Unbundled.Testing;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Tests.Integration.Oracle;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The real server on PostgreSQL and Redis, killed (SIGKILL) on a timer while clients keep flushing and
/// pipelines are behind the head, then started again: every view must end equal to what an independent
/// oracle folds from the raw log rows (an aggregate too, grouped again from scratch, and a join with a second
/// model type written alongside, joined again from scratch), every acknowledged
/// flush must be in the log, and the NDJSON journal, append-only, must show each write once.
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
              lists-and-keepers:
                models: [todo-list, user]
            sinks:
              cache:
                connector: redis
                prefix: "{{_prefix}}"
                key: "todo:{listId}:{id}"
              journal:
                connector: ndjson
                directory: "{{_directory.Path}}/journal"
              open:
                connector: redis
                prefix: "{{_prefix}}"
                key: "open:{group}"
              kept:
                connector: redis
                prefix: "{{_prefix}}"
                key: "kept:{listId}:{id}"
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
              # Its members and groups live in the log's database beside the log: a kill must not count one twice.
              # Grouped by the list's title, which lists share and renames change: a rename moves every todo of a list.
              open-per-title:
                from: lists
                projection: todo-items
                aggregate:
                  group-by: "{after.listTitle}"
                  where: after.done == false
                  fields:
                    open: count
                    first: { collect: after.title, limit: 3 }
                to: open
                batch: { max-size: 4 }
              # Both sides live in the log's database too: each todo with the profile named like its list.
              items-with-keeper:
                from: lists-and-keepers
                projection: todo-items
                join: { table: user, on: "{after.listId}", as: keeper }
                to: kept
                batch: { max-size: 4 }
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
                if (await TodoWorkload.FlushSomethingAsync(http, own) is { } landed) lock (acknowledged) acknowledged.Add(landed);
            }
        })).Append(Task.Run(async () =>
        {
            var own = new Random(3);
            while (!stop.IsCancellationRequested)
            {
                await TodoWorkload.FlushProfileAsync(http, own);
                await Task.Delay(20);
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
        var cache = await DerivedViews.RedisAsync(_redis, _prefix + "todo:");
        Assert.Equal(expected.Keys.Order(), cache.Keys.Order());
        foreach (var (key, document) in expected) Assert.True(JsonNode.DeepEquals(document, cache[key]), $"{key}: {cache[key].ToJsonString()} != {document.ToJsonString()}");
        DerivedViews.AssertJournalOnce(Path.Combine(_directory.Path, "journal"), expected);

        // The aggregate equals the oracle's todos grouped again from scratch; renames moved some between groups.
        var groups = expected.Values.Where(d => (bool?)d["done"] != true).GroupBy(d => (string)d["listTitle"]!).ToDictionary(g => g.Key, g => (JsonNode)new JsonObject
        {
            ["group"] = g.Key,
            ["open"] = g.Count(),
            ["first"] = new JsonArray([.. g.Select(d => (string)d["title"]!).Order(StringComparer.Ordinal).Take(3).Select(t => (JsonNode)t)]),
        });
        var open = await DerivedViews.RedisAsync(_redis, _prefix + "open:");
        Assert.Equal(groups.Keys.Order(), open.Keys.Order());
        foreach (var (group, document) in groups) Assert.True(JsonNode.DeepEquals(document, open[group]), $"{group}: {open[group].ToJsonString()} != {document.ToJsonString()}");

        // The join equals each todo with its keeper's final profile (none when it never was or was deleted).
        var keepers = await TodoItemsOracle.FoldAsync(postgres.ConnectionString, _schema, "user");
        Assert.Contains(keepers.Values, k => k.State is not null);
        var joined = expected.ToDictionary(e => e.Key, e =>
        {
            var document = e.Value.DeepClone().AsObject();
            document["keeper"] = keepers.GetValueOrDefault((string)e.Value["listId"]!).State?.DeepClone();
            return document;
        });
        var kept = await DerivedViews.RedisAsync(_redis, _prefix + "kept:");
        Assert.Equal(joined.Keys.Order(), kept.Keys.Order());
        foreach (var (key, document) in joined) Assert.True(JsonNode.DeepEquals(document, kept[key]), $"{key}: {kept[key].ToJsonString()} != {document.ToJsonString()}");
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
        await TodoWorkload.FlushSomethingAsync(http, new Random(1));

        var exitCode = await server.TerminateAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, exitCode);
        Assert.DoesNotContain("Unhandled", server.Errors);
        Assert.DoesNotContain("ObjectDisposedException", server.Errors);
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
        JsonArray? pipelines = null;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            pipelines = (await http.GetFromJsonAsync<JsonArray>("/pipelines"))!;
            if (pipelines.Count == 4 && pipelines.All(p => (long)p!["offset"]! == (long)p["head"]!)) return;
            await Task.Delay(200);
        }
        Assert.Fail($"the pipelines did not catch up within 60 s: {pipelines?.ToJsonString()}");
    }

    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

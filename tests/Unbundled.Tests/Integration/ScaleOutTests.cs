using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Unbundled.Testing;
using Unbundled.Tests.Integration.Oracle;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// Three real server processes on one PostgreSQL log, one Redis and one Kafka cluster, with clients
/// flushing to all of them and a producer writing Debezium changes to a topic, while the instance that
/// runs the log's pipelines is killed (SIGKILL) and restarted, and once a bystander too. The log's
/// pipelines must pass from instance to instance with never two running at once, the topic's partitions
/// must move between the group's members, and afterwards every view must equal its recomputation.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class ScaleOutTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly string[] Names = ["a", "b", "c"];
    private static readonly string[] LogPipelines = ["items-cache", "items-journal"];
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(ScaleOutTests));
    private readonly string _prefix = $"scale-{Guid.NewGuid():N}:";
    private readonly TempDirectory _directory = new();
    private readonly KafkaServer _kafka = new();
    private readonly ServerProcess?[] _servers = new ServerProcess?[3];
    private readonly int[] _ports = [ServerProcess.FreePort(), ServerProcess.FreePort(), ServerProcess.FreePort()];
    private string[] _settings = [];
    private Dictionary<string, string> _environment = [];

    public async Task InitializeAsync()
    {
        _environment = new() { ["UNBUNDLED_POSTGRES"] = postgres.ConnectionString, ["UNBUNDLED_REDIS"] = await LocalServices.GetAsync("UNBUNDLED_REDIS") };
        await _kafka.InitializeAsync();
    }

    [Fact]
    public async Task Killed_and_restarted_instances_hand_over_log_pipelines_by_lease_and_topic_partitions_by_group_and_the_views_equal_their_recomputation()
    {
        var topic = $"orders-{Guid.NewGuid():N}"[..16];
        await _kafka.CreateTopicAsync(topic, 6);
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists: { models: [todo-list] }
              orders:
                connector: kafka
                brokers: "{{_kafka.Brokers}}"
                topics: [{{topic}}]
                # A killed member's partitions move once the coordinator misses its heartbeats for this long.
                properties: { session.timeout.ms: "6000", heartbeat.interval.ms: "500" }
            sinks:
              cache: { connector: redis, prefix: "{{_prefix}}", key: "todo:{listId}:{id}" }
              journal: { connector: ndjson, directory: "{{_directory.Path}}/journal" }
              orders-cache: { connector: redis, prefix: "{{_prefix}}", key: "order:{key}" }
            pipelines:
              items-cache: { from: lists, projection: todo-items, to: cache, batch: { max-size: 5 } }
              items-journal: { from: lists, projection: todo-items, to: journal, batch: { max-size: 3 } }
              orders:
                from: orders
                select: { fields: { status: after.status, n: after.n } }
                to: orders-cache
                batch: { max-size: 50 }
            """);
        _settings = [$"--Unbundled:Log:Postgres:Schema={_schema}", $"--Unbundled:Pipelines:File={pipelines}"];
        await Task.WhenAll(Enumerable.Range(0, 3).Select(StartAsync));
        var clients = _ports.Select(port => new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) }).ToArray();

        using var stop = new CancellationTokenSource();
        var acknowledged = new List<(string List, long Version)>();
        // Clients of every instance: any instance takes flushes, whichever runs the pipelines.
        var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            while (!stop.IsCancellationRequested)
                if (await TodoWorkload.FlushSomethingAsync(clients[w], random) is { } landed) lock (acknowledged) acknowledged.Add(landed);
        })).ToList();
        var produced = new Dictionary<string, JsonObject?>();
        var producer = Task.Run(() => ProduceOrdersAsync(topic, produced, stop.Token));
        var overlaps = new List<string>();
        var sampler = Task.Run(() => SampleOwnersAsync(clients, overlaps, stop.Token));
        var takeovers = new List<TimeSpan>();
        try
        {
            var random = new Random(20261204);
            for (var round = 0; round < 3; round++)
            {
                await Task.Delay(random.Next(1500, 2500));
                var owner = await OwnerAsync(clients, "items-cache");
                var killed = Array.IndexOf(Names, owner);
                Assert.True(killed >= 0, $"no instance owns items-cache: {owner}");
                var since = Stopwatch.StartNew();
                Kill(killed);
                if (round == 1) Kill((killed + 1) % 3); // a bystander too: only its topic partitions move
                await WaitUntilAsync(async () => await OwnerAsync(clients, "items-cache") is { } next && next != owner, "another instance to take the log's pipelines over", clients);
                takeovers.Add(since.Elapsed);
                await Task.WhenAll(Enumerable.Range(0, 3).Where(i => _servers[i] is null).Select(StartAsync));
            }
            await Task.Delay(1000);
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll([.. writers, producer, sampler]);
        }

        // The log's pipelines caught up on their owner; the topic's view reached what was produced.
        var lists = await TodoItemsOracle.FoldAsync(postgres.ConnectionString, _schema);
        var expected = TodoItemsOracle.Project(lists);
        await WaitUntilAsync(async () => await CaughtUpAsync(clients), "the log's pipelines to catch up", clients);
        var expectedOrders = produced.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!);
        await WaitUntilAsync(async () => SameView(expectedOrders, await DerivedViews.RedisAsync(_environment["UNBUNDLED_REDIS"], _prefix + "order:")) is null,
            "the orders view to equal the topic", clients);

        Assert.Empty(overlaps);
        Assert.All(takeovers, t => Assert.True(t < TimeSpan.FromSeconds(20), $"a takeover took {t}"));
        Assert.NotEmpty(acknowledged);
        Assert.All(acknowledged, flush => Assert.True(lists[flush.List].Version >= flush.Version, $"{flush.List} v{flush.Version} was acknowledged but is not in the log"));
        Assert.NotEmpty(expected);
        Assert.Null(SameView(expected, await DerivedViews.RedisAsync(_environment["UNBUNDLED_REDIS"], _prefix + "todo:")));

        // Every instance, owner or standby, names the same owner and serves reads of the view.
        var (key, document) = expected.First();
        foreach (var client in clients)
        {
            var statuses = (await client.GetFromJsonAsync<JsonArray>("/pipelines"))!.ToDictionary(p => (string)p!["name"]!);
            Assert.Equal(await OwnerAsync(clients, "items-cache"), (string?)statuses["items-cache"]!["owner"]);
            Assert.Contains((string)statuses["orders"]!["state"]!, new[] { "Running", "CatchingUp" });
            using var read = await client.GetAsync($"/views/items-cache/todo:{key}");
            var body = await read.Content.ReadAsStringAsync();
            Assert.True(read.IsSuccessStatusCode && JsonNode.DeepEquals(document, JsonNode.Parse(body)!["document"]), $"{client.BaseAddress}: {body}");
        }

        // Appended to by whichever instance held the lease: two at once, or a batch redone, would show twice.
        for (var i = 0; i < _servers.Length; i++) Kill(i);
        DerivedViews.AssertJournalOnce(Path.Combine(_directory.Path, "journal"), expected);
    }

    /// <summary>Debezium PostgreSQL changes of 200 orders, keyed by id, each acknowledged one recorded as the row it leaves.</summary>
    private async Task ProduceOrdersAsync(string topic, Dictionary<string, JsonObject?> rows, CancellationToken cancellationToken)
    {
        using var producer = _kafka.Producer();
        var random = new Random(7);
        for (long lsn = 1000; !cancellationToken.IsCancellationRequested; lsn += 8)
        {
            var id = random.Next(200);
            var exists = rows.TryGetValue($"{id}", out var row) && row is not null;
            var op = !exists ? "c" : random.Next(5) == 0 ? "d" : "u";
            JsonObject? after = op == "d" ? null : new() { ["id"] = id, ["status"] = op == "c" ? "new" : $"s{random.Next(9)}", ["n"] = lsn };
            var value = new JsonObject
            {
                ["before"] = op == "c" ? null : new JsonObject { ["id"] = id },
                ["after"] = after?.DeepClone(),
                ["source"] = new JsonObject { ["version"] = "2.7.0.Final", ["connector"] = "postgresql", ["name"] = "shop", ["db"] = "shop", ["schema"] = "public", ["table"] = "orders", ["lsn"] = lsn },
                ["op"] = op,
                ["ts_ms"] = 0,
            };
            var key = Encoding.UTF8.GetBytes($$"""{"id":{{id}}}""");
            await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = key, Value = Encoding.UTF8.GetBytes(value.ToJsonString()) }, CancellationToken.None);
            if (op == "d") await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?> { Key = key, Value = null }, CancellationToken.None);
            rows[$"{id}"] = after is null ? null : new JsonObject { ["status"] = after["status"]!.DeepClone(), ["n"] = lsn };
            if (lsn % 40 == 0) await Task.Delay(1, CancellationToken.None);
        }
    }

    /// <summary>Every 100 ms, asks each live instance what it runs; records any moment two ran one log pipeline.</summary>
    private static async Task SampleOwnersAsync(HttpClient[] clients, List<string> overlaps, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // All three asked at once: asked in turn, an owner seen just before its kill and its successor seen
            // after would look like two at once.
            var answers = await Task.WhenAll(clients.Select(StatusesAsync));
            var running = new List<(string Pipeline, string Instance)>();
            for (var i = 0; i < clients.Length; i++)
            {
                if (answers[i] is not { } statuses) continue;
                foreach (var pipeline in LogPipelines)
                    if ((string?)statuses[pipeline]?["state"] is "Running" or "CatchingUp" or "Starting") running.Add((pipeline, Names[i]));
            }
            foreach (var twice in running.GroupBy(r => r.Pipeline).Where(g => g.Count() > 1))
                overlaps.Add($"{twice.Key} ran on {string.Join(" and ", twice.Select(r => r.Instance))}");
            await Task.Delay(100, CancellationToken.None);
        }
    }

    private static async Task<Dictionary<string, JsonNode?>?> StatusesAsync(HttpClient client)
    {
        try { return (await client.GetFromJsonAsync<JsonArray>("/pipelines"))!.ToDictionary(p => (string)p!["name"]!); }
        catch (Exception error) when (error is HttpRequestException or HttpIOException or TaskCanceledException) { return null; }
    }

    /// <summary>The instance that says it runs <paramref name="pipeline"/> itself (state past standby, owner its own name).</summary>
    private static async Task<string?> OwnerAsync(HttpClient[] clients, string pipeline)
    {
        for (var i = 0; i < clients.Length; i++)
            if (await StatusesAsync(clients[i]) is { } statuses && (string?)statuses[pipeline]?["owner"] == Names[i] && (string?)statuses[pipeline]?["state"] is "Running" or "CatchingUp")
                return Names[i];
        return null;
    }

    /// <summary>Whether each log pipeline, wherever it runs, has reached the log's head.</summary>
    private static async Task<bool> CaughtUpAsync(HttpClient[] clients)
    {
        var statuses = (await Task.WhenAll(clients.Select(StatusesAsync))).OfType<Dictionary<string, JsonNode?>>().ToList();
        return LogPipelines.All(p => statuses.Any(s => (string?)s[p]!["state"] is "Running" && (long)s[p]!["offset"]! == (long)s[p]!["head"]!));
    }

    /// <summary>Null when <paramref name="view"/> holds exactly <paramref name="expected"/>; else the first difference.</summary>
    private static string? SameView(IReadOnlyDictionary<string, JsonObject> expected, Dictionary<string, JsonNode> view)
    {
        foreach (var (key, document) in expected)
            if (!view.TryGetValue(key, out var held) || !JsonNode.DeepEquals(document, held)) return $"{key}: {held?.ToJsonString() ?? "missing"} != {document.ToJsonString()}";
        return view.Keys.FirstOrDefault(k => !expected.ContainsKey(k)) is { } extra ? $"{extra} should not be there" : null;
    }

    private async Task StartAsync(int index) =>
        _servers[index] = await ServerProcess.StartAsync(_ports[index], _environment, [.. _settings, $"--Unbundled:Instance={Names[index]}"]);

    private void Kill(int index)
    {
        _servers[index]?.Dispose();
        _servers[index] = null;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, HttpClient[] clients)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (await condition()) return;
            await Task.Delay(100);
        }
        var statuses = await Task.WhenAll(clients.Select(async c => $"{c.BaseAddress}: {(await StatusesAsync(c) is { } s ? string.Join(", ", s.Values.Select(v => v!.ToJsonString())) : "down")}"));
        Assert.Fail($"timed out waiting for {what}:\n{string.Join('\n', statuses)}");
    }

    public async Task DisposeAsync()
    {
        for (var i = 0; i < _servers.Length; i++) Kill(i);
        await _kafka.DisposeAsync();
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

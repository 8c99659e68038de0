using System.Net.Http.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Unbundled.Testing;
using Unbundled.Tests.Services;
using Unbundled.Tests.Sources.Postgres;

namespace Unbundled.Tests.Integration;

/// <summary>
/// <c>postgres | redis</c> declared in pipelines.yaml and run by the real server, killed (SIGKILL) during
/// the initial snapshot and again while changes stream, with writers on the table all along: the Redis
/// view must end equal to the table, row for row.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresCdcCrashTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(postgres, "cdc_crash");
    private readonly string _prefix = $"cdc-{Guid.NewGuid():N}:";
    private readonly TempDirectory _directory = new();
    private string _redis = "";

    public async Task InitializeAsync()
    {
        _redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        await _db.CreateAsync();
    }

    [Fact]
    public async Task Killing_the_server_during_the_snapshot_and_during_streaming_leaves_the_view_equal_to_the_table()
    {
        await _db.ExecuteAsync("create table orders (id int primary key, status text not null, total numeric(10,2) not null)");
        await _db.ExecuteAsync("insert into orders select g, 'new', g from generate_series(1, 150000) g");
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              shop:
                connector: postgres
                connection: "{{postgres.ConnectionString}}"
                tables: [{{_db.Schema}}.orders]
                snapshot-chunk-size: 2000
            sinks:
              cache:
                connector: redis
                prefix: "{{_prefix}}"
                key: "order:{key}"
            pipelines:
              {{_db.Pipelines}}orders:
                from: shop
                select:
                  fields:
                    status: after.status
                    total: after.total
                to: cache
                batch: { max-size: 200 }
            """);
        var port = ServerProcess.FreePort();
        var environment = new Dictionary<string, string> { ["UNBUNDLED_REDIS"] = _redis };
        string[] settings = [$"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}", $"--Unbundled:Pipelines:File={pipelines}"];

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var random = new Random(11);
            while (!stop.IsCancellationRequested)
            {
                var id = random.Next(1, 155000);
                await (random.Next(3) switch
                {
                    0 => _db.ExecuteAsync("insert into orders values ($1, 'late', 1) on conflict (id) do update set status = 'again'", id),
                    1 => _db.ExecuteAsync("update orders set status = 'paid', total = total + 1 where id = $1", id),
                    _ => _db.ExecuteAsync("delete from orders where id = $1", id),
                });
            }
        });
        var server = await ServerProcess.StartAsync(port, environment, settings);
        try
        {
            using var http = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(5) };
            // Mid-snapshot: some rows are in the view, far from all.
            // Mid-snapshot by the pipeline's own offset: snapshot rows are numbered from 1, streamed changes far above
            // (a scan of a Redis other tests fill too would be slower than the snapshot).
            var reached = 0L;
            await WaitUntilAsync(async () => (reached = (await http.GetFromJsonAsync<JsonArray>("/pipelines"))!.Single()!["offset"]!.GetValue<long>()) > 2000,
                "the snapshot to start", TimeSpan.FromMilliseconds(20), () => Task.FromResult(server.Errors));
            Assert.True(reached < 150000 - 5000, "the snapshot ended before the kill");
            server.Kill();
            server.Dispose();

            server = await ServerProcess.StartAsync(port, environment, settings);
            // Streaming: offsets past the snapshot's are commit LSNs shifted left 16 bits, far above any row count.
            using (var streaming = new HttpClient { BaseAddress = server.Address })
                await WaitUntilAsync(async () => (await streaming.GetFromJsonAsync<JsonArray>("/pipelines"))!.Single()!["offset"]!.GetValue<long>() > 1L << 40, "the stream to start",
                    describe: () => streaming.GetStringAsync("/pipelines"));
            await Task.Delay(500);
            server.Kill();
            server.Dispose();

            server = await ServerProcess.StartAsync(port, environment, settings);
            await Task.Delay(500);
            await stop.CancelAsync();
            await writer;

            var table = await _db.RowsAsync("orders");
            await WaitUntilAsync(async () => Same(table, await ViewAsync()), "the view to equal the table");

            // Caught up, status shows no lag and the slot's health and retained WAL.
            using var status = new HttpClient { BaseAddress = server.Address };
            await WaitUntilAsync(async () => (await status.GetFromJsonAsync<JsonArray>("/pipelines"))!.Single()!["lagEvents"]!.GetValue<long>() == 0, "no lag in status");
            var source = (await status.GetFromJsonAsync<JsonArray>("/pipelines"))!.Single()!["source"]!;
            Assert.Equal(($"unbundled_{_db.Pipelines}orders_g0", "reserved", "true"), ((string)source["slot"]!, (string)source["walStatus"]!, (string)source["active"]!));
            Assert.True(long.Parse((string)source["retainedBytes"]!) >= 0);
        }
        finally
        {
            await stop.CancelAsync();
            await writer.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
            server.Dispose();
        }
    }

    [Fact]
    public async Task A_rebuild_reads_the_table_again_from_a_slot_of_its_own_while_the_live_view_streams_and_drops_the_old_slot()
    {
        await _db.ExecuteAsync("create table orders (id int primary key, status text not null, total numeric(10,2) not null)");
        await _db.ExecuteAsync("insert into orders select g, 'new', g from generate_series(1, 5000) g");
        var pipelines = _directory.File("pipelines.yaml");
        var name = $"{_db.Pipelines}rebuilt";
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              shop:
                connector: postgres
                connection: "{{postgres.ConnectionString}}"
                tables: [{{_db.Schema}}.orders]
            sinks:
              cache:
                connector: redis
                prefix: "{{_prefix}}"
                key: "order:{key}"
            pipelines:
              {{name}}:
                from: shop
                select: { fields: after }
                to: cache
            """);
        var environment = new Dictionary<string, string> { ["UNBUNDLED_REDIS"] = _redis };
        using var server = await ServerProcess.StartAsync(ServerProcess.FreePort(), environment,
            $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}", $"--Unbundled:Pipelines:File={pipelines}");
        using var http = new HttpClient { BaseAddress = server.Address };
        await WaitUntilAsync(async () => (await ViewAsync()).Count == 5000, "the first snapshot");

        var rebuild = await http.PostAsync($"/pipelines/{name}/rebuild", null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, rebuild.StatusCode);
        await _db.ExecuteAsync("update orders set status = 'during' where id <= 100");
        await WaitUntilAsync(async () => (await http.GetFromJsonAsync<JsonObject>($"/pipelines/{name}"))!["generation"]!.GetValue<int>() == 1, "the rebuilt generation to go live");
        await _db.ExecuteAsync("update orders set status = 'after' where id = 1");

        Task<string?> StatusOf(int id) => StatusOfAsync(http, name, id);
        await WaitUntilAsync(async () => await StatusOf(1) == "after", "a change after the swap", describe: () => http.GetStringAsync($"/pipelines/{name}"));
        Assert.Equal("during", await StatusOf(2));
        Assert.Equal("new", await StatusOf(4999));
        await WaitUntilAsync(async () => (await SlotsAsync(name)).Length == 1, "the old slot to be dropped");
        Assert.Equal([$"unbundled_{name}_g1"], await SlotsAsync(name));
    }

    [Fact]
    public async Task A_truncated_table_rebuilds_the_views_it_feeds_so_they_drop_its_rows()
    {
        await _db.ExecuteAsync("create table orders (id int primary key, status text not null)");
        await _db.ExecuteAsync("insert into orders select g, 'old' from generate_series(1, 300) g");
        var pipelines = _directory.File("pipelines.yaml");
        var name = $"{_db.Pipelines}truncated";
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              shop: { connector: postgres, connection: "{{postgres.ConnectionString}}", tables: [{{_db.Schema}}.orders] }
            sinks:
              cache: { connector: redis, prefix: "{{_prefix}}", key: "order:{key}" }
            pipelines:
              {{name}}: { from: shop, select: { fields: after }, to: cache }
            """);
        using var server = await ServerProcess.StartAsync(ServerProcess.FreePort(), new Dictionary<string, string> { ["UNBUNDLED_REDIS"] = _redis },
            $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}", $"--Unbundled:Pipelines:File={pipelines}");
        using var http = new HttpClient { BaseAddress = server.Address };
        Task<string?> StatusOf(int id) => StatusOfAsync(http, name, id);
        await WaitUntilAsync(async () => await StatusOf(300) == "old", "the snapshot");

        await _db.ExecuteAsync("truncate orders");
        await _db.ExecuteAsync("insert into orders values (7, 'new')");

        await WaitUntilAsync(async () => (await http.GetFromJsonAsync<JsonObject>($"/pipelines/{name}"))!["generation"]!.GetValue<int>() >= 1 && await StatusOf(7) == "new",
            "the rebuilt view", describe: () => http.GetStringAsync($"/pipelines/{name}"));
        Assert.Null(await StatusOf(1));
        Assert.Null(await StatusOf(300));
    }

    /// <summary>The status field of order <paramref name="id"/> in the live generation of the view, as the server serves it; null when absent.</summary>
    private async Task<string?> StatusOfAsync(HttpClient http, string pipeline, int id) =>
        await http.GetAsync($"/views/{pipeline}/order:{id}") is { IsSuccessStatusCode: true } found ? (string?)(await found.Content.ReadFromJsonAsync<JsonObject>())!["document"]!["status"] : null;

    private async Task<string[]> SlotsAsync(string pipeline)
    {
        await using var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"select slot_name from pg_replication_slots where slot_name like 'unbundled\\_{pipeline}\\_g%' order by 1", connection);
        var slots = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) slots.Add(reader.GetString(0));
        return [.. slots];
    }

    private static bool Same(Dictionary<string, JsonObject> table, Dictionary<string, JsonNode> view) =>
        table.Count == view.Count && table.All(row => view.TryGetValue(row.Key, out var document)
            && (string?)document["status"] == (string?)row.Value["status"] && (decimal)document["total"]! == (decimal)row.Value["total"]!);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? every = null, Func<Task<string>>? describe = null)
    {
        var until = DateTime.UtcNow.AddMinutes(1);
        while (DateTime.UtcNow < until)
        {
            if (await condition()) return;
            await Task.Delay(every ?? TimeSpan.FromMilliseconds(250));
        }
        Assert.Fail($"timed out waiting for {what}" + (describe is null ? "" : $": {await describe()}"));
    }

    private async Task<Dictionary<string, JsonNode>> ViewAsync()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis);
        var server = redis.GetServers()[0];
        var keys = server.Keys(pattern: _prefix + "order:*", pageSize: 5000).ToArray();
        var values = await redis.GetDatabase().StringGetAsync(keys);
        var view = new Dictionary<string, JsonNode>();
        for (var i = 0; i < keys.Length; i++)
            if (values[i].HasValue) view[keys[i].ToString()[(_prefix.Length + "order:".Length)..]] = JsonNode.Parse(values[i].ToString())!;
        return view;
    }

    public async Task DisposeAsync()
    {
        if (_redis.Length > 0) await RedisKeys.DeletePrefixAsync(_redis, _prefix);
        await _db.DisposeAsync();
        _directory.Dispose();
    }
}

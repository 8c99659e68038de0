using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Unbundled.Connectors.Redis;
using Unbundled.Sdk.Sinks;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Connectors.Redis;

/// <summary>What the Redis cache adds to the sink contract: key templates, formats, TTLs, plain redis-cli reads, outages.</summary>
[Collection(RedisCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RedisCacheSinkTests(RedisServer redis) : IAsyncLifetime
{
    private readonly RedisConnections _connections = new();
    private readonly string _pipeline = $"redis-{Guid.NewGuid():N}";

    private async Task<RedisCacheSink> SinkAsync(RedisCacheOptions options, string? connection = null)
    {
        var sink = new RedisCacheSink(_pipeline, options, _ => _connections.GetAsync(connection ?? redis.Connection));
        await sink.ConnectAsync(default);
        return sink;
    }

    private static SinkDocument Todo(string list, string id, long version, bool done = false) =>
        SinkDocument.Upsert($"{list}:{id}", version, version, new JsonObject { ["listId"] = list, ["id"] = id, ["title"] = $"todo {id}", ["done"] = done });

    private static async Task<string> RedisCliAsync(string connection, params string[] arguments)
    {
        var endpoint = connection.Split(',')[0].Split(':');
        using var cli = Process.Start(new ProcessStartInfo("redis-cli", ["-h", endpoint[0], "-p", endpoint[1], .. arguments]) { RedirectStandardOutput = true })!;
        var output = await cli.StandardOutput.ReadToEndAsync();
        await cli.WaitForExitAsync();
        return output.Trim();
    }

    [Fact]
    public async Task Keys_come_from_the_template_and_plain_redis_cli_reads_the_json()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = "todo:{listId}:{id}", Prefix = _pipeline + ":" });

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("groceries", "a", 1)], 1), default);

        var key = $"{_pipeline}:todo:groceries:a";
        Assert.Equal("""{"listId":"groceries","id":"a","title":"todo a","done":false}""", await RedisCliAsync(redis.Connection, "GET", key));
        // Reads take the view's key; the prefix is where the sink keeps it.
        Assert.Equal("todo a", (string?)(await sink.ReadAsync("todo:groceries:a", default))!["title"]);
    }

    [Fact]
    public async Task Two_deployments_sharing_a_redis_keep_separate_offsets_for_a_pipeline_of_the_same_name()
    {
        await using var first = await SinkAsync(new RedisCacheOptions { Prefix = _pipeline + "-blue:" });
        await using var second = await SinkAsync(new RedisCacheOptions { Prefix = _pipeline + "-green:" });

        await first.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1)], 157), default);

        Assert.Equal(157, await first.LoadOffsetAsync(default));
        Assert.Equal(0, await second.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task A_writer_fenced_lower_than_a_later_owner_changes_nothing_and_is_told()
    {
        await using var stale = await SinkAsync(new RedisCacheOptions { Key = "{listId}:{id}", Prefix = _pipeline + ":" });
        await using var successor = await SinkAsync(new RedisCacheOptions { Key = "{listId}:{id}", Prefix = _pipeline + ":" });
        await stale.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1)], 1) { Fence = 3 }, default);
        await successor.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 2, done: true)], 2) { Fence = 4 }, default);

        // The owner that lost its lease still believes it holds it: its late write, newer by version and offset, lands nowhere.
        var fenced = await Assert.ThrowsAsync<SinkFencedException>(() => stale.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 9), Todo("l", "b", 9)], 9) { Fence = 3 }, default));

        Assert.Equal(4, fenced.HeldFence);
        Assert.Equal(true, (bool?)(await successor.ReadAsync("l:a", default))!["done"]);
        Assert.Null(await successor.ReadAsync("l:b", default));
        Assert.Equal(2, await successor.LoadOffsetAsync(default));
        // The same owner writes on; a later one still fences it.
        await successor.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 3)], 3) { Fence = 4 }, default);
        Assert.Equal(3, await successor.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task The_hash_format_stores_one_field_per_member()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}", Format = RedisValueFormat.Hash });

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1, done: true)], 1), default);

        var fields = await RedisCliAsync(redis.Connection, "HGET", $"{_pipeline}:l:a", "done");
        Assert.Equal("true", fields);
        var read = await sink.ReadAsync($"{_pipeline}:l:a", default);
        Assert.Equal("todo a", (string?)read!["title"]);
    }

    [Fact]
    public async Task A_ttl_makes_documents_expire()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}", Ttl = TimeSpan.FromMilliseconds(300) });

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1)], 1), default);

        var ttl = long.Parse(await RedisCliAsync(redis.Connection, "PTTL", $"{_pipeline}:l:a"));
        Assert.InRange(ttl, 1, 300);
        for (var i = 0; i < 100 && await RedisCliAsync(redis.Connection, "EXISTS", $"{_pipeline}:l:a") != "0"; i++) await Task.Delay(100);
        Assert.Equal("0", await RedisCliAsync(redis.Connection, "EXISTS", $"{_pipeline}:l:a"));
    }

    [Fact]
    public async Task A_deleted_keys_version_is_forgotten_after_the_tombstone_retention_so_deletes_do_not_grow_forever()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}", TombstoneRetention = TimeSpan.FromMilliseconds(50) });
        var versions = $"unbundled:{_pipeline}:versions";
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1)], 1), default);
        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Delete("l:a", 2, 2)], 2), default);
        Assert.Equal("1", await RedisCliAsync(redis.Connection, "HEXISTS", versions, $"{_pipeline}:l:a"));

        await Task.Delay(200);
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 3)], 3), default);

        Assert.Equal("0", await RedisCliAsync(redis.Connection, "HEXISTS", versions, $"{_pipeline}:l:a"));
        Assert.Equal("0", await RedisCliAsync(redis.Connection, "ZCARD", $"unbundled:{_pipeline}:tombstones"));
        Assert.Equal("1", await RedisCliAsync(redis.Connection, "HEXISTS", versions, $"{_pipeline}:l:b"));
    }

    [Fact]
    public async Task Versions_and_offsets_past_2_to_the_53_are_compared_exactly_not_as_lua_doubles()
    {
        // A postgres source's offsets are its commit LSN << 16: past 128 GiB of WAL they no longer fit a double.
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}" });
        const long big = 1L << 53;
        const long offset = 1L << 60;
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", big)], offset + 1), default);

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", big + 1, done: true)], offset + 3) { BasedOn = offset + 1 }, default);
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", big)], offset + 4) { BasedOn = offset + 3 }, default);

        Assert.Equal(true, (bool?)(await sink.ReadAsync($"{_pipeline}:l:a", default))!["done"]);
        Assert.Equal(offset + 4, await sink.LoadOffsetAsync(default));
        var lost = await Assert.ThrowsAsync<SinkDataLostException>(() => sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 1)], offset + 9) { BasedOn = offset + 6 }, default));
        Assert.Equal(offset + 4, lost.HeldOffset);
    }

    [Fact]
    public async Task A_batch_of_several_script_calls_lands_whole_in_order_and_moves_the_offset_once()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{listId}:{id}" });
        var documents = Enumerable.Range(0, 700).Select(i => Todo("l", $"t{i}", i + 1)).ToList();
        // One key written in the first call, again in the second and deleted in the third; a refused document between.
        documents[10] = Todo("l", "x", 11);
        documents[300] = Todo("l", "x", 301, done: true);
        documents[400] = SinkDocument.Upsert("keyless", 401, 401, new JsonObject { ["title"] = "no list" });
        documents[550] = SinkDocument.Delete("l:x", 551, 551, new JsonObject { ["listId"] = "l", ["id"] = "x" });
        documents[600] = Todo("l", "y", 601, done: true);

        var result = await sink.WriteAsync(new SinkBatch(_pipeline, documents, 700) { BasedOn = 0 }, default);

        Assert.Same(documents[400], Assert.Single(result.Rejected).Document);
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:x", default));
        Assert.Equal(true, (bool?)(await sink.ReadAsync($"{_pipeline}:l:y", default))!["done"]);
        Assert.NotNull(await sink.ReadAsync($"{_pipeline}:l:t699", default));
        Assert.Equal(700, await sink.LoadOffsetAsync(default));
        // The whole batch again, as after a crash: every write is a duplicate, and the deleted key stays deleted.
        await sink.WriteAsync(new SinkBatch(_pipeline, documents, 700) { BasedOn = 700 }, default);
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:x", default));
    }

    [Fact]
    public async Task Writes_and_deletes_of_one_key_in_one_call_land_in_their_order()
    {
        // Plain JSON writes are gathered into one MSET: a delete between two of them must not be undone by it.
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{listId}:{id}" });
        var lastX = new JsonObject { ["listId"] = "l", ["id"] = "x" };
        var lastY = new JsonObject { ["listId"] = "l", ["id"] = "y" };

        await sink.WriteAsync(new SinkBatch(_pipeline,
            [Todo("l", "x", 1), SinkDocument.Delete("l:x", 2, 2, lastX), Todo("l", "x", 3, done: true), Todo("l", "y", 4), SinkDocument.Delete("l:y", 5, 5, lastY), Todo("l", "z", 6)], 6), default);

        Assert.Equal(true, (bool?)(await sink.ReadAsync($"{_pipeline}:l:x", default))!["done"]);
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:y", default));
        Assert.NotNull(await sink.ReadAsync($"{_pipeline}:l:z", default));
        // The delete's version stays: a replay of y's older write does not bring it back.
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "y", 4)], 7), default);
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:y", default));
    }

    [Fact]
    public async Task A_hash_written_again_loses_the_fields_its_document_no_longer_has_and_one_written_after_a_delete_starts_empty()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}", Format = RedisValueFormat.Hash });
        var key = $"{_pipeline}:l:a";
        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Upsert("l:a", 1, 1, new JsonObject { ["title"] = "a", ["note"] = "x" })], 1), default);

        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Upsert("l:a", 2, 2, new JsonObject { ["title"] = "b" })], 2), default);
        Assert.Equal("title\nb", await RedisCliAsync(redis.Connection, "HGETALL", key));

        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Delete("l:a", 3, 3)], 3), default);
        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Upsert("l:a", 2, 2, new JsonObject { ["title"] = "replayed" })], 4), default);
        Assert.Equal("0", await RedisCliAsync(redis.Connection, "EXISTS", key));
        await sink.WriteAsync(new SinkBatch(_pipeline, [SinkDocument.Upsert("l:a", 4, 4, new JsonObject { ["done"] = true })], 5), default);
        Assert.Equal("done\ntrue", await RedisCliAsync(redis.Connection, "HGETALL", key));
    }

    [Fact]
    public async Task A_tombstone_left_by_an_older_store_does_not_forget_the_version_of_a_key_written_again_since()
    {
        // Stores written before deletes were marked kept a deleted key's version plain, beside its tombstone.
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}", TombstoneRetention = TimeSpan.FromMilliseconds(50) });
        var key = $"{_pipeline}:l:a";
        await RedisCliAsync(redis.Connection, "HSET", $"unbundled:{_pipeline}:versions", key, "2");
        await RedisCliAsync(redis.Connection, "ZADD", $"unbundled:{_pipeline}:tombstones", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(), key);

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 5)], 5), default);
        await Task.Delay(100);
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 6)], 6), default);
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 3, done: true)], 7), default);

        Assert.Equal("0", await RedisCliAsync(redis.Connection, "ZCARD", $"unbundled:{_pipeline}:tombstones"));
        Assert.Equal(false, (bool?)(await sink.ReadAsync($"{_pipeline}:l:a", default))!["done"]);
    }

    [Fact]
    public async Task Versions_an_older_store_wrote_as_lua_numbers_still_guard_their_keys()
    {
        // Before versions were kept as strings, Lua formatted those from 1e17 on with an exponent.
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{key}" });
        await RedisCliAsync(redis.Connection, "HSET", $"unbundled:{_pipeline}:versions", $"{_pipeline}:l:a", "1.5258789062500001e+17");

        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 152_587_890_624_999_999)], 1), default);
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:a", default));
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 152_587_890_625_000_100, done: true)], 2), default);
        Assert.Equal(true, (bool?)(await sink.ReadAsync($"{_pipeline}:l:a", default))!["done"]);
    }

    [Fact]
    public async Task A_call_of_a_batch_that_failed_keeps_the_calls_after_it_from_writing_and_the_offset_from_moving()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{listId}:{id}", TombstoneRetention = TimeSpan.Zero });
        var documents = Enumerable.Range(0, 600).Select(i => Todo("l", $"t{i}", i + 1)).ToList();
        documents[300] = SinkDocument.Delete("l:t300", 301, 301, new JsonObject { ["listId"] = "l", ["id"] = "t300" });
        // The second call's delete meets a tombstones key of the wrong type, and fails.
        await RedisCliAsync(redis.Connection, "SET", $"unbundled:{_pipeline}:tombstones", "not a sorted set");

        await Assert.ThrowsAnyAsync<Exception>(() => sink.WriteAsync(new SinkBatch(_pipeline, documents, 600) { BasedOn = 0 }, default));

        Assert.Equal(0, await sink.LoadOffsetAsync(default));
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:t599", default));
        // Once the cause is gone, the same batch lands whole.
        await RedisCliAsync(redis.Connection, "DEL", $"unbundled:{_pipeline}:tombstones");
        await sink.WriteAsync(new SinkBatch(_pipeline, documents, 600) { BasedOn = 0 }, default);
        Assert.Equal(600, await sink.LoadOffsetAsync(default));
        Assert.NotNull(await sink.ReadAsync($"{_pipeline}:l:t599", default));
        Assert.Null(await sink.ReadAsync($"{_pipeline}:l:t300", default));
    }

    [Fact]
    public async Task A_document_whose_key_cannot_be_made_is_refused_with_the_reason_and_the_others_land()
    {
        await using var sink = await SinkAsync(new RedisCacheOptions { Key = _pipeline + ":{listId}:{id}" });
        var keyless = SinkDocument.Upsert("x", 2, 2, new JsonObject { ["title"] = "no list" });

        var result = await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1), keyless], 2), default);

        var rejection = Assert.Single(result.Rejected);
        Assert.Same(keyless, rejection.Document);
        Assert.Contains("needs the field 'listId'", rejection.Reason);
        Assert.NotNull(await sink.ReadAsync($"{_pipeline}:l:a", default));
        Assert.Equal(2, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task A_redis_that_goes_down_makes_writes_fail_as_unavailable_and_is_used_again_when_it_returns()
    {
        var port = FreePort();
        var connection = $"127.0.0.1:{port}";
        using var server = RedisProcess.Start(port);
        await using var sink = await SinkAsync(new RedisCacheOptions(), connection);
        await sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "a", 1)], 1), default);

        server.Kill();
        await server.WaitForExitAsync();
        // A write that hung instead of failing would end in a TimeoutException, not the expected one.
        await Assert.ThrowsAsync<SinkUnavailableException>(() => sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 2)], 2), default).WaitAsync(TimeSpan.FromSeconds(30)));

        using var restarted = RedisProcess.Start(port);
        await RetryAsync(() => sink.WriteAsync(new SinkBatch(_pipeline, [Todo("l", "b", 2)], 2), default));

        Assert.NotNull(await sink.ReadAsync("l:b", default));
        Assert.Equal(2, await sink.LoadOffsetAsync(default));
        restarted.Kill();
    }

    private static async Task RetryAsync(Func<Task> write)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await write();
                return;
            }
            catch (SinkUnavailableException) when (attempt < 60)
            {
                await Task.Delay(250);
            }
        }
    }


    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _connections.DisposeAsync();
}

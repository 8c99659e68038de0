using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using Unbundled.Connectors.Redis;
using Unbundled.Sdk.Sinks;
using Unbundled.Server.Embedded;
using Unbundled.Sdk.Testing;
using Unbundled.Testing;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Connectors.Redis;

/// <summary>The sink contract on a real redis-server.</summary>
[Collection(RedisCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RedisCacheSinkContractTests(RedisServer redis) : GenerationalSinkContract, IAsyncLifetime
{
    private readonly RedisConnections _connections = new();

    protected override async Task<IGenerationalSink> CreateGenerationAsync(string pipeline, int generation)
    {
        var sink = new RedisCacheSink(pipeline, new RedisCacheOptions { Prefix = pipeline + ":" }, _ => _connections.GetAsync(redis.Connection), generation);
        await sink.ConnectAsync(default);
        return sink;
    }

    protected override async Task<JsonObject?> ReadActiveAsync(string pipeline, string key) =>
        await ActiveGeneration.ReadAsync(await _connections.GetAsync(redis.Connection), pipeline + ":", pipeline, key);

    protected override async Task LoseDataAsync(string pipeline) => await RedisKeys.DeleteMatchingAsync(await _connections.GetAsync(redis.Connection), pipeline + ":*");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _connections.DisposeAsync();
}

/// <summary>The same contract on the embedded Garnet server, through the same connector code and Lua script.</summary>
public sealed class GarnetCacheSinkContractTests : GenerationalSinkContract, IAsyncLifetime
{
    private readonly EmbeddedGarnetServer _garnet = new(NullLogger<EmbeddedGarnetServer>.Instance);
    private readonly RedisConnections _connections = new();

    protected override async Task<IGenerationalSink> CreateGenerationAsync(string pipeline, int generation)
    {
        var sink = new RedisCacheSink(pipeline, new RedisCacheOptions(), _ => _connections.GetAsync(_garnet.Connection), generation);
        await sink.ConnectAsync(default);
        return sink;
    }

    protected override async Task<JsonObject?> ReadActiveAsync(string pipeline, string key) =>
        await ActiveGeneration.ReadAsync(await _connections.GetAsync(_garnet.Connection), "", pipeline, key);

    // Garnet here serves one test class, one test at a time: losing everything is what a restart would do.
    protected override async Task LoseDataAsync(string pipeline) => await RedisKeys.DeleteMatchingAsync(await _connections.GetAsync(_garnet.Connection), "*");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _connections.DisposeAsync();
        _garnet.Dispose();
    }
}

/// <summary>Reads a view as another Redis client would: the generation key first, then the document under that generation's prefix.</summary>
internal static class ActiveGeneration
{
    public static async Task<JsonObject?> ReadAsync(IConnectionMultiplexer redis, string prefix, string pipeline, string key)
    {
        var database = redis.GetDatabase();
        var generation = (long?)await database.StringGetAsync($"{prefix}unbundled:{pipeline}:generation") ?? 0;
        var value = await database.StringGetAsync(generation == 0 ? prefix + key : $"{prefix}g{generation}:{key}");
        return value.IsNull ? null : JsonNode.Parse(value.ToString())!.AsObject();
    }
}

using StackExchange.Redis;

namespace Unbundled.Testing;

/// <summary>
/// Deletes keys of the shared local Redis: a test's or bench's own when it ends (the PostgreSQL CDC crash tests alone had
/// left 460,000 keys behind in a Redis that every later run and bench shares), or a view's, as a restart without
/// persistence loses them.
/// </summary>
public static class RedisKeys
{
    /// <summary>Deletes every key of <paramref name="redis"/> (a connection string) starting with <paramref name="prefix"/>.</summary>
    public static async Task DeletePrefixAsync(string redis, string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        await DeleteMatchingAsync(connection, prefix + "*");
    }

    /// <summary>Deletes every key matching <paramref name="pattern"/> on each of <paramref name="redis"/>'s servers, a thousand per call.</summary>
    public static async Task DeleteMatchingAsync(IConnectionMultiplexer redis, string pattern)
    {
        var database = redis.GetDatabase();
        var batch = new List<RedisKey>(1000);
        foreach (var server in redis.GetServers())
        {
            await foreach (var key in server.KeysAsync(pattern: pattern, pageSize: 1000))
            {
                batch.Add(key);
                if (batch.Count < 1000) continue;
                await database.KeyDeleteAsync([.. batch]);
                batch.Clear();
            }
        }
        if (batch.Count > 0) await database.KeyDeleteAsync([.. batch]);
    }
}

using StackExchange.Redis;

namespace Unbundled.Testing;

/// <summary>
/// The keys a test or bench wrote under its own prefix in the shared local Redis, deleted when it ends: the PostgreSQL
/// CDC crash tests alone had left 460,000 keys behind in a Redis that every later run and bench shares.
/// </summary>
public static class RedisPrefix
{
    /// <summary>Deletes every key of <paramref name="redis"/> (a connection string) starting with <paramref name="prefix"/>.</summary>
    public static async Task DeleteAsync(string redis, string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var database = connection.GetDatabase();
        var batch = new List<RedisKey>(1000);
        foreach (var server in connection.GetServers())
        {
            await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
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

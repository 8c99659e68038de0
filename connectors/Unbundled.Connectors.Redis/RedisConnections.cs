using System.Collections.Concurrent;
using StackExchange.Redis;

namespace Unbundled.Connectors.Redis;

/// <summary>One multiplexer per Redis configuration, shared by every sink that uses it (as StackExchange.Redis intends).</summary>
public sealed class RedisConnections : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<IConnectionMultiplexer>>> _connections = new(StringComparer.Ordinal);

    /// <summary>The shared connection for <paramref name="configuration"/>, opened on first use.</summary>
    public Task<IConnectionMultiplexer> GetAsync(string configuration) =>
        _connections.GetOrAdd(configuration, c => new Lazy<Task<IConnectionMultiplexer>>(() => ConnectAsync(c))).Value;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Values.Where(c => c.IsValueCreated))
        {
            if (connection.Value.IsCompletedSuccessfully) await connection.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<IConnectionMultiplexer> ConnectAsync(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        // Keep trying in the background when Redis is down, and fail calls fast meanwhile, so the
        // worker's own backoff decides when to try a batch again.
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.AsyncTimeout = 5000;
        options.SyncTimeout = 5000;
        options.ConnectRetry = 1;
        options.ReconnectRetryPolicy = new LinearRetry(500);
        return await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
    }
}

using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// The CPU a run of a Redis view costs per row: this process's (the pipeline, and a Kafka bench's in-process broker)
/// and Redis's main thread's, from <c>INFO cpu</c>. On 2 cores their sum says which rates the machine can reach at
/// all, whatever the baseline.
/// </summary>
internal sealed class CpuPerRow : IAsyncDisposable
{
    private readonly ConnectionMultiplexer _redis;
    private readonly TimeSpan _process;
    private readonly double _redisSeconds;

    private CpuPerRow(ConnectionMultiplexer redis, TimeSpan process, double redisSeconds) => (_redis, _process, _redisSeconds) = (redis, process, redisSeconds);

    public static async Task<CpuPerRow> StartAsync(string redis)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(redis + ",allowAdmin=true");
        return new CpuPerRow(connection, Process.GetCurrentProcess().TotalProcessorTime, await RedisSecondsAsync(connection));
    }

    /// <summary>Prints the CPU since the start per row, and the rate at which Redis's main thread alone would fill a core.</summary>
    public async Task ReportAsync(long rows)
    {
        var process = (Process.GetCurrentProcess().TotalProcessorTime - _process).TotalSeconds;
        var redis = await RedisSecondsAsync(_redis) - _redisSeconds;
        Console.WriteLine($"CPU per row: this process {process * 1e6 / rows:0.0} µs, Redis's main thread {redis * 1e6 / rows:0.0} µs (one core caps Redis at {rows / redis:0} rows/s)");
    }

    private static async Task<double> RedisSecondsAsync(ConnectionMultiplexer redis)
    {
        var cpu = (await redis.GetServers()[0].InfoAsync("cpu")).SelectMany(group => group).ToDictionary(pair => pair.Key, pair => pair.Value);
        // The main thread's own time came with Redis 6.2; before, the whole process's is the nearest.
        double Seconds(string field) => double.Parse(cpu.GetValueOrDefault(field + "_main_thread") ?? cpu[field], CultureInfo.InvariantCulture);
        return Seconds("used_cpu_sys") + Seconds("used_cpu_user");
    }

    public ValueTask DisposeAsync() => _redis.DisposeAsync();
}

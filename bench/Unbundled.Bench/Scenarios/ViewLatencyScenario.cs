using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;
using StackExchange.Redis;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Server;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// From a flush's commit to its change being readable in a Redis view, p50 and p99, while 1,000 flushes/s
/// arrive over HTTP: the real server on PostgreSQL and Redis with one cache pipeline, as Sequin measures
/// "to its sinks". Readability is seen by Redis itself: a keyspace notification is published when the
/// view's key is set, and a subscriber in this process notes when it arrives. The server runs in this
/// process too, so the commit instant (when the log's append returned) and the arrival share a clock.
/// After the server as shipped (whose figures are the RESULT), the same load runs with telemetry off and
/// with every flush traced, each on a server of its own, to show what telemetry costs.
/// </summary>
internal static class ViewLatencyScenario
{
    private const int FlushesPerSecond = 1000;
    private const int Writers = 50;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var measured = TimeSpan.FromSeconds(quick ? 10 : 30);
        var postgres = await LocalServices.GetAsync("UNBUNDLED_POSTGRES");
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        // CONFIG needs admin mode: the scenario switches keyspace notifications on for its run and back after.
        using var notifications = await ConnectionMultiplexer.ConnectAsync($"{redis},allowAdmin=true");
        var server = notifications.GetServers()[0];
        var keyspaceEvents = (await server.ConfigGetAsync("notify-keyspace-events")).FirstOrDefault().Value ?? "";
        await server.ConfigSetAsync("notify-keyspace-events", "K$");
        try
        {
            // The first server in the process pays the JIT and the pools' growth; it is not one of those compared.
            await MeasureAsync(notifications, postgres, redis, TimeSpan.FromSeconds(5), "warm-up (not counted)");
            var shipped = await MeasureAsync(notifications, postgres, redis, measured, "as shipped (metrics on, tracing off)");
            // What telemetry costs at this load: none at all against metrics with every flush traced through every view.
            var off = await MeasureAsync(notifications, postgres, redis, measured, "telemetry off", "--Unbundled:Telemetry:Enabled=false");
            var on = await MeasureAsync(notifications, postgres, redis, measured, "metrics and every flush traced", "--Unbundled:Telemetry:Tracing=true");
            Console.WriteLine($"telemetry: p50 {on.P50:0.00} against {off.P50:0.00} ms, p99 {on.P99:0.00} against {off.P99:0.00} ms, cpu {on.Cpu:0}% against {off.Cpu:0}% of one core " +
                $"({(on.Cpu / off.Cpu - 1) * 100:+0.0;-0.0}% cpu)");
            return BenchResult.Latency("view-latency", shipped.P50, shipped.P99);
        }
        finally
        {
            await server.ConfigSetAsync("notify-keyspace-events", keyspaceEvents);
        }
    }

    private static async Task<(double P50, double P99, double Cpu)> MeasureAsync(ConnectionMultiplexer notifications, string postgres, string redis, TimeSpan measured, string label,
        params string[] settings)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var (schema, prefix) = ($"bench_view_latency_{run}", $"bench-vl-{run}:");
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var subscriber = notifications.GetSubscriber();
        var channel = RedisChannel.Pattern($"__keyspace@*__:{prefix}*");
        try
        {
            var pipelines = Path.Combine(directory.FullName, "pipelines.yaml");
            await File.WriteAllTextAsync(pipelines, $$"""
                sources:
                  lists:
                    models: [todo-list]
                sinks:
                  cache:
                    connector: redis
                    prefix: "{{prefix}}"
                pipelines:
                  list-cache:
                    from: lists
                    select:
                      fields:
                        title: after.title
                    to: cache
                """);
            var commits = new CommitClock();
            await using var app = UnbundledApp.Build([
                "--urls=http://127.0.0.1:0",
                "--Unbundled:Log:Provider=postgres",
                $"--Unbundled:Log:Postgres:ConnectionString={postgres}",
                $"--Unbundled:Log:Postgres:Schema={schema}",
                $"--Unbundled:Redis:Connection={redis}",
                $"--Unbundled:Pipelines:File={pipelines}",
                "--Logging:LogLevel:Default=Warning",
                .. settings,
            ], builder => builder.Services.Replace(ServiceDescriptor.Singleton<ICommandLog>(p => commits.Wrap(p.GetRequiredService<PostgresCommandLog>()))),
                unbundled => unbundled.AddTodoApp());
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

            var readable = new ConcurrentDictionary<string, long>();
            await subscriber.SubscribeAsync(channel, (name, _) =>
                readable.TryAdd(name.ToString()[(name.ToString().IndexOf(':') + 1 + prefix.Length)..], Stopwatch.GetTimestamp()));

            using var stop = new CancellationTokenSource();
            var sent = 0;
            var measuring = new ConcurrentBag<string>();
            var measure = 0;
            // Writers at an even, staggered pace: together one flush about every millisecond, each creating a list of its own.
            var writing = Enumerable.Range(0, Writers).Select(writer => Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds((double)writer / FlushesPerSecond), stop.Token);
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds((double)Writers / FlushesPerSecond));
                while (await timer.WaitForNextTickAsync(stop.Token).AsTask().ContinueWith(t => !t.IsCanceled && t.Result))
                {
                    var id = $"w{writer}-{Interlocked.Increment(ref sent)}";
                    using var response = await http.PostAsync($"/models/todo-list/{id}/flush",
                        new StringContent($$$"""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"{{{id}}}","todos":[]}}]}""", Encoding.UTF8, "application/json"));
                    response.EnsureSuccessStatusCode();
                    if (Volatile.Read(ref measure) == 1) measuring.Add(id);
                }
            })).ToList();

            Console.WriteLine($"{label}: flushing {FlushesPerSecond}/s for {measured.TotalSeconds:0} s after a 2 s warm-up");
            await Task.Delay(TimeSpan.FromSeconds(2));
            Volatile.Write(ref measure, 1);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            await Task.Delay(measured);
            Volatile.Write(ref measure, 0);
            var cpuShare = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / measured.TotalSeconds * 100;
            Console.WriteLine($"cpu {cpuShare:0}% of one core");
            await stop.CancelAsync();
            await Task.WhenAll(writing.Select(t => t.ContinueWith(_ => { })));
            // The last flushes' changes reach the view after the writers stop.
            await Task.Delay(TimeSpan.FromSeconds(2));

            var latencies = new List<double>();
            var missing = 0;
            foreach (var id in measuring)
            {
                if (commits.TryGetModel(id, out var committed) && readable.TryGetValue(id, out var seen))
                    latencies.Add(Stopwatch.GetElapsedTime(committed, seen).TotalMilliseconds);
                else missing++;
            }
            var sorted = latencies.Order().ToArray();
            var (p50, p99) = (FeedLatencyScenario.Percentile(sorted, 0.50), FeedLatencyScenario.Percentile(sorted, 0.99));
            Console.WriteLine($"{measuring.Count / measured.TotalSeconds:0} flushes/s answered; {sorted.Length} changes seen in Redis, {missing} not seen; p50 {p50:0.00} ms, p99 {p99:0.00} ms, max {sorted.LastOrDefault():0.00} ms");
            if (missing > 0) throw new InvalidOperationException($"{missing} flushed changes never became readable in the view");
            return (p50, p99, cpuShare);
        }
        finally
        {
            await subscriber.UnsubscribeAsync(channel);
            await RedisKeys.DeletePrefixAsync(redis, prefix);
            await using (var connection = new NpgsqlConnection(postgres))
            {
                await connection.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
                await drop.ExecuteNonQueryAsync();
            }
            directory.Delete(recursive: true);
        }
    }
}

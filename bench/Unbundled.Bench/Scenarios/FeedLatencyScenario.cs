using Unbundled.Testing;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Model;
using Unbundled.Server;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// From a flush's commit to an SSE subscriber holding the change, p50 and p99, with 200 subscribers
/// (four per list) while 1,000 commands/s are flushed over HTTP. The server and the subscribers run
/// in this process, so the commit instant (when the log's append returned) and the arrival share a clock.
/// </summary>
internal static class FeedLatencyScenario
{
    private const int Lists = 50;
    private const int SubscribersPerList = 4;
    private const int CommandsPerSecond = 1000;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var measured = TimeSpan.FromSeconds(quick ? 5 : 20);
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var commits = new CommitClock();
        try
        {
            var pipelines = Path.Combine(directory.FullName, "pipelines.yaml");
            await File.WriteAllTextAsync(pipelines, FeedWorkload.Yaml());
            await using var app = UnbundledApp.Build([
                "--urls=http://127.0.0.1:0",
                "--Unbundled:Log:Provider=sqlite",
                $"--Unbundled:Log:Sqlite:Path={Path.Combine(directory.FullName, "log.db")}",
                $"--Unbundled:Pipelines:File={pipelines}",
                "--Logging:LogLevel:Default=Warning",
            ], builder => builder.Services.Replace(ServiceDescriptor.Singleton<ICommandLog>(p => commits.Wrap(p.GetRequiredService<SqliteCommandLog>()))), unbundled => unbundled.AddTodoApp());
            await app.StartAsync();
            using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

            var writes = new FeedWorkload(http);
            for (var list = 0; list < Lists; list++) await writes.WriteAsync($"l{list}");

            using var stop = new CancellationTokenSource();
            var latencies = new ConcurrentQueue<double>();
            var measuring = 0;
            var readiness = new List<Task>();
            var subscribers = new List<Task>();
            for (var i = 0; i < Lists * SubscribersPerList; i++)
            {
                var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                readiness.Add(ready.Task);
                subscribers.Add(Task.Run(() => SseSubscriber.FollowAsync(http, $"list:l{i % Lists}", position =>
                {
                    var arrived = Stopwatch.GetTimestamp();
                    if (Volatile.Read(ref measuring) == 1 && commits.TryGet(position, out var committed))
                        latencies.Enqueue(Stopwatch.GetElapsedTime(committed, arrived).TotalMilliseconds);
                }, ready, stop.Token)));
            }
            await Task.WhenAll(readiness).WaitAsync(TimeSpan.FromSeconds(60));
            Console.WriteLine($"{readiness.Count} subscribers live; flushing {CommandsPerSecond} commands/s for {measured.TotalSeconds:0} s after a 2 s warm-up");

            // Each list gets its own writer at an even pace, the writers staggered so that together they
            // flush one command about every millisecond rather than 50 at once every 50 ms.
            var writing = Enumerable.Range(0, Lists).Select(list => Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds((double)list / CommandsPerSecond), stop.Token);
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds((double)Lists / CommandsPerSecond));
                while (await timer.WaitForNextTickAsync(stop.Token).AsTask().ContinueWith(t => !t.IsCanceled && t.Result))
                    await writes.WriteAsync($"l{list}");
            })).ToList();
            await Task.Delay(TimeSpan.FromSeconds(2));
            var head = await app.Services.GetRequiredService<ICommandLog>().ReadHeadAsync(default);
            Volatile.Write(ref measuring, 1);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            await Task.Delay(measured);
            Console.WriteLine($"cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / measured.TotalSeconds * 100:0}% of one core");
            var written = await app.Services.GetRequiredService<ICommandLog>().ReadHeadAsync(default) - head;
            Volatile.Write(ref measuring, 0);
            await stop.CancelAsync();
            await Task.WhenAll(writing.Concat(subscribers).Select(t => t.ContinueWith(_ => { })));

            var sorted = latencies.Order().ToArray();
            var (p50, p99) = (Percentile(sorted, 0.50), Percentile(sorted, 0.99));
            Console.WriteLine($"{written / measured.TotalSeconds:0} commands/s committed; {sorted.Length} deliveries measured; p50 {p50:0.00} ms, p99 {p99:0.00} ms, max {sorted.LastOrDefault():0.00} ms");
            return BenchResult.Latency("feed-latency", p50, p99);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    internal static double Percentile(double[] sorted, double rank) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, rank * sorted.Length)];
}

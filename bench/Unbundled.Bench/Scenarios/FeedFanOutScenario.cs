using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// 10,000 idle SSE connections on 1,000 channels plus 100 changes/s: the memory (peak RSS) of the real
/// server process, against the same process idle before the connections opened. Every delivery is
/// counted, so a server that kept its memory low by dropping subscribers would show it.
/// </summary>
internal static class FeedFanOutScenario
{
    private const int Channels = 1000;
    private const int ChangesPerSecond = 100;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var connections = quick ? 2_000 : 10_000;
        var seconds = quick ? 5 : 10;
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        try
        {
            var pipelines = Path.Combine(directory.FullName, "pipelines.yaml");
            await File.WriteAllTextAsync(pipelines, FeedWorkload.Yaml());
            using var server = await ServerProcess.StartAsync(ServerProcess.FreePort(), new Dictionary<string, string>(),
                "--Unbundled:Log:Provider=sqlite", $"--Unbundled:Log:Sqlite:Path={Path.Combine(directory.FullName, "log.db")}",
                $"--Unbundled:Pipelines:File={pipelines}", "--Logging:LogLevel:Default=Warning");
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = server.Address, Timeout = Timeout.InfiniteTimeSpan };

            var writes = new FeedWorkload(http);
            for (var list = 0; list < Channels; list++) await writes.WriteAsync($"l{list}");
            await Task.Delay(1000);
            var idle = Memory(server.Id);
            Console.WriteLine($"server idle with {Channels} lists: RSS {idle.Rss / 1048576.0:0} MB");

            using var stop = new CancellationTokenSource();
            var delivered = 0L;
            var subscribers = new List<Task>(connections);
            for (var opened = 0; opened < connections; opened += 500)
            {
                var readiness = new List<Task>();
                for (var i = opened; i < Math.Min(connections, opened + 500); i++)
                {
                    var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    readiness.Add(ready.Task);
                    var channel = $"list:l{i % Channels}";
                    subscribers.Add(Task.Run(() => SseSubscriber.FollowAsync(http, channel, _ => Interlocked.Increment(ref delivered), ready, stop.Token)));
                }
                await Task.WhenAll(readiness).WaitAsync(TimeSpan.FromSeconds(60));
            }
            Console.WriteLine($"{connections} SSE connections live; RSS {Memory(server.Id).Rss / 1048576.0:0} MB; now {ChangesPerSecond} changes/s for {seconds} s");

            var random = new Random(100);
            var changes = 0;
            using (var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / ChangesPerSecond)))
            {
                var end = DateTime.UtcNow.AddSeconds(seconds);
                while (DateTime.UtcNow < end && await timer.WaitForNextTickAsync())
                {
                    var list = random.Next(Channels);
                    await writes.WriteAsync($"l{list}");
                    changes++;
                }
            }
            var expected = (long)changes * (connections / Channels);
            for (var wait = 0; wait < 100 && Interlocked.Read(ref delivered) < expected; wait++) await Task.Delay(100);
            var loaded = Memory(server.Id);
            await stop.CancelAsync();
            await Task.WhenAll(subscribers.Select(t => t.ContinueWith(_ => { })));

            Console.WriteLine($"{changes} changes, {Interlocked.Read(ref delivered)} of {expected} deliveries; server RSS {loaded.Rss / 1048576.0:0} MB, peak {loaded.Peak / 1048576.0:0} MB " +
                $"({(loaded.Peak - idle.Rss) / 1024.0 / connections:0.0} KB per connection)");
            return new BenchResult("feed-fanout", loaded.Peak / 1048576.0, "MB", idle.Rss / 1048576.0);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>A process's resident memory now and at its peak, from /proc.</summary>
    private static (long Rss, long Peak) Memory(int process)
    {
        long Field(string name) => File.ReadLines($"/proc/{process}/status")
            .Where(line => line.StartsWith(name + ":", StringComparison.Ordinal))
            .Select(line => long.Parse(line[(name.Length + 1)..].Trim().Split(' ')[0]) * 1024)
            .First();
        return (Field("VmRSS"), Field("VmHWM"));
    }
}

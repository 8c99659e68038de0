using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Unbundled.Log;
using Unbundled.Pipelines.Observability;
using Unbundled.Server;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// Whether derivation keeps up with the write path: the real server on PostgreSQL and Redis with the demo's
/// pipelines.yaml, first flushed in a closed loop for its peak rate, then in an open loop at 70% of that
/// peak for ten minutes (<c>--quick</c>: two), each flush ticking one todo of a list. Flush latency is timed
/// from each flush's scheduled instant (so a stall is not hidden by the flushes it delayed); every second
/// each pipeline's lag behind the log's head is sampled, in entries and in seconds of traffic at the offered rate.
/// </summary>
internal static class SustainedScenario
{
    private const int Lists = 200;
    private const int TodosPerList = 10;
    private const int PeakWriters = 32;
    private const double Share = 0.7;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var (peakTime, heldTime) = quick ? (TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(2)) : (TimeSpan.FromSeconds(60), TimeSpan.FromMinutes(10));
        var postgres = await LocalServices.GetAsync("UNBUNDLED_POSTGRES");
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var run = Guid.NewGuid().ToString("N")[..8];
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var (schema, prefix) = ($"bench_sustained_{run}", $"bench-sus-{run}:");
        try
        {
            var pipelines = Path.Combine(directory.FullName, "pipelines.yaml");
            var yaml = (await File.ReadAllTextAsync(Path.Combine(LocalServices.RepositoryRoot(), "pipelines.yaml")))
                .Replace("${UNBUNDLED_VIEWS:-data/views}", Path.Combine(directory.FullName, "views"), StringComparison.Ordinal);
            // The run's Redis keys under a prefix of its own, removed at the end: before a sink's own prefix, or as its prefix.
            yaml = RunPrefix(yaml, prefix);
            await File.WriteAllTextAsync(pipelines, yaml);
            await using var app = UnbundledApp.Build([
                "--urls=http://127.0.0.1:0",
                "--Unbundled:Log:Provider=postgres",
                $"--Unbundled:Log:Postgres:ConnectionString={postgres}",
                $"--Unbundled:Log:Postgres:Schema={schema}",
                $"--Unbundled:Redis:Connection={redis}",
                $"--Unbundled:Pipelines:File={pipelines}",
                "--Logging:LogLevel:Default=Warning",
            ], application: unbundled => unbundled.AddTodoApp());
            await app.StartAsync();
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(app.Urls.First()) };
            var lists = await CreateListsAsync(http, run);
            var lag = new LagProbe(app.Services);
            await lag.WaitCaughtUpAsync(TimeSpan.FromMinutes(5));

            var peak = await PeakAsync(http, lists, peakTime);
            Console.WriteLine($"peak, closed loop of {PeakWriters} writers over {peakTime.TotalSeconds:0} s: {peak:0} flushes/s; views catching up before the held phase");
            await lag.WaitCaughtUpAsync(TimeSpan.FromMinutes(10));

            var rate = peak * Share;
            Console.WriteLine($"holding {rate:0} flushes/s (70%) for {heldTime.TotalMinutes:0} min");
            var held = await HoldAsync(http, lists, rate, heldTime, lag);
            var caughtUp = Stopwatch.StartNew();
            await lag.WaitCaughtUpAsync(TimeSpan.FromMinutes(10));
            Console.WriteLine($"{held.Answered / heldTime.TotalSeconds:0} flushes/s answered, {held.Failed} failed; flush p50 {held.P50:0.0} ms, p99 {held.P99:0.0} ms; " +
                $"largest lag {held.MaxLagEntries} entries ({held.MaxLagSeconds:0.00} s of traffic, {held.WorstPipeline}); slope over the second half {held.Slope:0.0} entries/s; " +
                $"RSS {held.RssStartMb:0} MB at start, {held.RssEndMb:0} MB at end, peak {held.RssPeakMb:0} MB; caught up {caughtUp.Elapsed.TotalSeconds:0.0} s after the load");
            if (held.Failed > 0) throw new InvalidOperationException($"{held.Failed} flushes failed under a load the server had shown it could take");
            return new SustainedResult(held.Answered / heldTime.TotalSeconds, held.P99, held.MaxLagSeconds, held.Slope, held.RssPeakMb);
        }
        finally
        {
            await using (var connection = new NpgsqlConnection(postgres))
            {
                await connection.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
                await drop.ExecuteNonQueryAsync();
            }
            await RedisKeys.DeletePrefixAsync(redis, prefix);
            directory.Delete(recursive: true);
        }
    }

    /// <summary>The demo's pipelines.yaml with every Redis sink's keys under <paramref name="prefix"/>.</summary>
    private static string RunPrefix(string yaml, string prefix)
    {
        var lines = yaml.Split('\n').ToList();
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Trim() != "connector: redis") continue;
            // The sink's own lines are those indented as deep as its connector.
            var end = i + 1;
            while (end < lines.Count && lines[end].StartsWith("    ", StringComparison.Ordinal) && !lines[end].StartsWith("     ", StringComparison.Ordinal)) end++;
            var own = lines.FindIndex(i, end - i, l => l.TrimStart().StartsWith("prefix: \"", StringComparison.Ordinal));
            if (own >= 0) lines[own] = lines[own].Replace("prefix: \"", $"prefix: \"{prefix}", StringComparison.Ordinal);
            else lines.Insert(i + 1, $"    prefix: \"{prefix}\"");
        }
        return string.Join('\n', lines);
    }

    /// <summary>Creates the lists, each with its todos; answers each list's id and the version the flush left it at.</summary>
    private static async Task<ListState[]> CreateListsAsync(HttpClient http, string run)
    {
        var lists = new ListState[Lists];
        for (var list = 0; list < Lists; list++)
        {
            var id = $"sus-{run}-{list}";
            var todos = Enumerable.Range(0, TodosPerList).Select(t => new { id = $"t{t}", title = $"todo {t}", done = false }).ToArray();
            var version = await FlushAsync(http, id, 0, new { op = "create", path = "", value = new { title = $"list {list}", todos } });
            lists[list] = new ListState(id, version);
        }
        return lists;
    }

    /// <summary>Flushes one command to a list; answers the version the master gave it.</summary>
    private static async Task<long> FlushAsync(HttpClient http, string list, long baseVersion, object command)
    {
        using var response = await http.PostAsJsonAsync($"/models/todo-list/{list}/flush", new { baseVersion, commands = new[] { command } });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<FlushAnswer>())!.Version;
    }

    /// <summary>Ticks or unticks one todo of <paramref name="list"/>, based on the version its previous flush answered (the master rebases a concurrent one).</summary>
    private static async Task TickAsync(HttpClient http, ListState list)
    {
        var (tick, baseVersion) = list.Next();
        var version = await FlushAsync(http, list.Id, baseVersion,
            new { op = "update", path = $"/todos/[id=t{tick % TodosPerList}]/done", value = tick / TodosPerList % 2 == 0 });
        list.Answered(version);
    }

    private static async Task<double> PeakAsync(HttpClient http, ListState[] lists, TimeSpan time)
    {
        var flushes = 0L;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, PeakWriters).Select(writer => Task.Run(async () =>
        {
            for (var n = 0; clock.Elapsed < time; n++)
            {
                await TickAsync(http, lists[(writer + n * PeakWriters) % Lists]);
                Interlocked.Increment(ref flushes);
            }
        })));
        return flushes / clock.Elapsed.TotalSeconds;
    }

    private static async Task<Held> HoldAsync(HttpClient http, ListState[] lists, double rate, TimeSpan time, LagProbe lag)
    {
        var latencies = new List<double>();
        var (failed, answered, sent) = (0, 0, 0L);
        var samples = new List<(double Seconds, long Entries, string Pipeline)>();
        var rss = new List<double>();
        var clock = Stopwatch.StartNew();
        var total = (long)(rate * time.TotalSeconds);
        var inFlight = new List<Task>();
        var sampling = Task.Run(async () =>
        {
            using var second = new PeriodicTimer(TimeSpan.FromSeconds(1));
            // Each line's flush p99 and GC pauses are of its ten seconds alone, so that a stall shows when it happened.
            var (printed, paused, gen2) = (0, GC.GetTotalPauseDuration(), GC.CollectionCount(2));
            while (clock.Elapsed < time && await second.WaitForNextTickAsync())
            {
                var (entries, pipeline) = await lag.WorstAsync();
                lock (samples) samples.Add((clock.Elapsed.TotalSeconds, entries, pipeline ?? "none"));
                rss.Add(Process.GetCurrentProcess().WorkingSet64 / 1048576.0);
                if (samples.Count % 10 != 0) continue;
                double[] recent;
                lock (latencies) (recent, printed) = (latencies.Skip(printed).Order().ToArray(), latencies.Count);
                var (pause, collections) = (GC.GetTotalPauseDuration(), GC.CollectionCount(2));
                Console.WriteLine($"  {clock.Elapsed.TotalSeconds,4:0} s: {Volatile.Read(ref sent)} sent, {Volatile.Read(ref answered)} answered, p99 {FeedLatencyScenario.Percentile(recent, 0.99):0} ms; " +
                    $"largest lag {entries} entries ({pipeline}); RSS {rss[^1]:0} MB; GC paused {(pause - paused).TotalMilliseconds:0} ms, {collections - gen2} gen2");
                (paused, gen2) = (pause, collections);
            }
        });
        // Open loop: flush n is sent at n / rate seconds whether or not the ones before it were answered.
        for (var n = 0L; n < total; n++)
        {
            var due = n / rate;
            var wait = due - clock.Elapsed.TotalSeconds;
            if (wait > 0.002) await Task.Delay(TimeSpan.FromSeconds(wait));
            var list = lists[n % Lists];
            Volatile.Write(ref sent, n + 1);
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    await TickAsync(http, list);
                    var ms = (clock.Elapsed.TotalSeconds - due) * 1000;
                    lock (latencies) { latencies.Add(ms); answered++; }
                }
                catch (Exception error) when (error is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                }
            }));
            if (inFlight.Count > 10_000) inFlight.RemoveAll(t => t.IsCompleted);
        }
        await Task.WhenAll(inFlight);
        await sampling;

        var sorted = latencies.Order().ToArray();
        var worst = samples.MaxBy(s => s.Entries);
        var secondHalf = samples.Where(s => s.Seconds >= time.TotalSeconds / 2).ToList();
        return new Held(answered, failed, FeedLatencyScenario.Percentile(sorted, 0.5), FeedLatencyScenario.Percentile(sorted, 0.99),
            worst.Entries, worst.Entries / rate, worst.Pipeline, Slope(secondHalf.Select(s => (s.Seconds, (double)s.Entries)).ToList()),
            rss.FirstOrDefault(), rss.LastOrDefault(), rss.DefaultIfEmpty().Max());
    }

    /// <summary>The least-squares slope of <paramref name="points"/>: how fast the lag grew, in entries per second.</summary>
    private static double Slope(List<(double X, double Y)> points)
    {
        if (points.Count < 2) return 0;
        var (meanX, meanY) = (points.Average(p => p.X), points.Average(p => p.Y));
        var covariance = points.Sum(p => (p.X - meanX) * (p.Y - meanY));
        var variance = points.Sum(p => (p.X - meanX) * (p.X - meanX));
        return variance == 0 ? 0 : covariance / variance;
    }

    /// <summary>Each pipeline's distance behind the log's head, as the server's own monitor sees it.</summary>
    private sealed class LagProbe(IServiceProvider services)
    {
        private readonly PipelineMonitor _monitor = services.GetRequiredService<PipelineMonitor>();
        private readonly ICommandLog _log = services.GetRequiredService<ICommandLog>();

        public async Task<(long Entries, string? Pipeline)> WorstAsync()
        {
            var head = await _log.ReadHeadAsync(default);
            var worst = _monitor.Pipelines.MaxBy(p => head - p.Offset);
            return worst is null ? (0, null) : (Math.Max(0, head - worst.Offset), worst.Pipeline);
        }

        public async Task WaitCaughtUpAsync(TimeSpan patience)
        {
            var clock = Stopwatch.StartNew();
            while ((await WorstAsync()).Entries > 0)
            {
                if (clock.Elapsed > patience) throw new TimeoutException($"the views did not catch up with the log within {patience.TotalMinutes:0} min");
                await Task.Delay(100);
            }
        }
    }

    /// <summary>One list's writer state: the version its last flush answered and how many ticks it was given.</summary>
    private sealed class ListState(string id, long version)
    {
        private long _ticks;

        public string Id { get; } = id;

        public (long Tick, long BaseVersion) Next() => (Interlocked.Increment(ref _ticks), Interlocked.Read(ref version));

        public void Answered(long answered)
        {
            for (var seen = Interlocked.Read(ref version); answered > seen; seen = Interlocked.Read(ref version))
                if (Interlocked.CompareExchange(ref version, answered, seen) == seen) return;
        }
    }

    private sealed record FlushAnswer(long Version);

    private sealed record Held(int Answered, int Failed, double P50, double P99, long MaxLagEntries, double MaxLagSeconds, string WorstPipeline, double Slope,
        double RssStartMb, double RssEndMb, double RssPeakMb);

    /// <summary>The RESULT line the issue asks for: flushes/s held, flush p99, largest lag in seconds of traffic, the lag's slope and peak RSS.</summary>
    private sealed record SustainedResult(double Held, double P99, double MaxLagSeconds, double Slope, double RssMb) : BenchResult("sustained", Held, "flushes/s", double.NaN)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"RESULT sustained value={Held:0.#} unit=flushes/s p99={P99:0.#} max-lag-s={MaxLagSeconds:0.##} lag-slope={Slope:0.##} rss-mb={RssMb:0}");
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Unbundled.Connectors.Redis;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// A pipeline replaying the whole log into Redis (one cache document per event, through change
/// events, a declarative selection and the version-guarded script) against raw pipelined SETs of the
/// same keys and values from the same process. Also reports the process's peak RSS during the replay,
/// and what telemetry costs: the same replay again with metrics collected and every derivation traced.
/// </summary>
internal static class RedisReplayScenario
{
    /// <summary>
    /// Versions per model, the same in the full and the quick run: sinks collapse several writes of one
    /// key in a batch, so a quick run over as many models with fewer versions each would time another workload.
    /// </summary>
    internal const int VersionsPerModel = 100;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var entries = quick ? 300_000 : 1_000_000;
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var logFile = Path.Combine(directory.FullName, "log.db");
        try
        {
            // Each flush carries a trace context, as a traced server's do; untraced, the replay ignores them.
            await FillLogAsync(logFile, entries, traced: true);
            var prefix = $"bench-{Guid.NewGuid():N}:";
            var (value, peakRss) = await ReplayAsync(logFile, redis, prefix, entries, telemetry: false);
            var baseline = await RawSetsAsync(redis, prefix + "raw:", entries);
            var (traced, _) = await ReplayAsync(logFile, redis, prefix + "traced:", entries, telemetry: true);
            await RedisKeys.DeletePrefixAsync(redis, prefix);
            Console.WriteLine($"peak RSS during the replay: {peakRss / (1024 * 1024)} MB");
            Console.WriteLine($"telemetry: {traced:0} events/s with metrics and every derivation traced against {value:0} without, {(1 - traced / value) * 100:0.0}% slower");
            return new BenchResult("redis-replay", value, "events/s", baseline);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Fills an embedded log with <paramref name="entries"/> entries over models of type <c>list</c>, <see cref="VersionsPerModel"/> each (one create, then updates of <c>/n</c>).</summary>
    internal static async Task FillLogAsync(string logFile, int entries, bool traced = false, int teams = 0)
    {
        using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = logFile }));
        await log.InitializeAsync(default);
        using var master = new MasterModel(log, new ModelTypeRegistry([new ModelType("list", [])]), Options.Create(new MasterOptions()), TimeProvider.System, NullLogger<MasterModel>.Instance);
        var perModel = VersionsPerModel;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, entries / perModel), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (m, ct) =>
        {
            var key = new ModelKey("list", $"l{m}");
            var created = new JsonObject { ["title"] = "list", ["n"] = 0 };
            // Each model on one of a number of teams, for a grouped view to aggregate over.
            if (teams > 0) created["team"] = $"t{m % teams}";
            var commands = new List<Command> { new() { Op = CommandOp.Create, Path = "", Value = created } };
            for (var i = 1; i < perModel; i++) commands.Add(new Command { Op = CommandOp.Update, Path = "/n", Value = i });
            if (traced)
            {
                var trace = BenchTelemetry.NewTraceParent();
                commands = [.. commands.Select(c => c.WithMeta(Unbundled.Tracing.UnbundledTracing.MetaName, trace))];
            }
            await master.FlushAsync(new FlushRequest(key, 0, commands), ct);
        });
        Console.WriteLine($"log filled with {entries} entries in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    internal static async Task<(double EventsPerSecond, long PeakRss)> ReplayAsync(string logFile, string redis, string prefix, int entries, bool telemetry,
        Unbundled.Pipelines.Aggregation.AggregateDefinition? aggregate = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var exported = telemetry ? BenchTelemetry.Add(builder.Services) : default;
        var unbundled = builder.Services.AddUnbundled()
            .UseSqliteLog(options => options.Path = logFile)
            .AddModelType("list");
        builder.Services.AddRedisCacheSink(defaults => defaults.Connection = redis);
        SelectField[] fields = [new("title", new PathValue("after.title")), new("n", new PathValue("after.n")), new("version", new PathValue("source.version"))];
        unbundled.AddBenchPipeline("replay", "list",
            new SelectProjection("{key}", aggregate is null ? fields : [.. fields, new("team", new PathValue("after.team"))]),
            RedisCacheSinkFactory.ConnectorName, new RedisCacheOptions { Prefix = prefix }, aggregate);
        using var host = builder.Build();

        await host.StartAsync();
        var monitor = host.Services.GetRequiredService<PipelineMonitor>();
        monitor.TryGet("replay", out var progress);
        // Timed from the first batch on: starting the host and connecting are a fixed cost that the raw
        // baseline does not pay either, and that a short run would otherwise mostly measure.
        while (progress!.Offset == 0) await Task.Delay(1);
        var (clock, from) = (Stopwatch.StartNew(), progress.Offset);
        long peak = 0;
        using (var sampling = new CancellationTokenSource())
        {
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, Process.GetCurrentProcess().WorkingSet64);
                    await Task.Delay(100);
                }
            });
            await progress.WaitForOffsetAsync(entries, TimeSpan.FromMinutes(10), default);
            await sampling.CancelAsync();
            await sampler;
        }
        var rate = (entries - from) / clock.Elapsed.TotalSeconds;
        await host.StopAsync();
        Console.WriteLine($"pipeline{(telemetry ? " with telemetry" : aggregate is not null ? " into a grouped view" : "")}: {entries - from} events replayed into Redis in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} events/s"
            + (telemetry ? $"; {exported.Spans.Exported} spans and {exported.Metrics.Exported} metric exports" : ""));
        return (rate, peak);
    }

    private static async Task<double> RawSetsAsync(string redis, string prefix, int entries)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var database = connection.GetDatabase();
        var perModel = VersionsPerModel;
        var clock = Stopwatch.StartNew();
        // The same keys and values as the pipeline writes, 1,000 pipelined SETs at a time.
        for (var start = 0; start < entries; start += 1000)
        {
            var writes = new Task[Math.Min(1000, entries - start)];
            for (var i = 0; i < writes.Length; i++)
            {
                var e = start + i;
                var version = e % perModel + 1;
                var value = new JsonObject { ["title"] = "list", ["n"] = version - 1, ["version"] = version }.ToJsonString();
                writes[i] = database.StringSetAsync($"{prefix}l{e / perModel}", value);
            }
            await Task.WhenAll(writes);
        }
        var rate = entries / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"raw pipelined SETs: {entries} in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} SETs/s");
        return rate;
    }
}

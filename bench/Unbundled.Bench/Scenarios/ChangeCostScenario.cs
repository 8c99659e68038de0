using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Redis;
using Unbundled.Log.Sqlite;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Unbundled.Testing;
using Unbundled.TodoApp.Projections;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// What one change costs as the model grows: lists of 10, 100 and 1,000 todos, one todo ticked per
/// flush, derived through the demo's <c>todo-items</c> projection into a Redis view; events/s over the
/// ticks alone (the lists' creation is derived first, untimed). The value is the rate at 1,000 todos,
/// the baseline the rate at 10: a change that cost the size of its model would give about 0.01.
/// </summary>
internal static class ChangeCostScenario
{
    private const int Lists = 20;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var ticks = quick ? 2_000 : 10_000;
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var rates = new Dictionary<int, double>();
        foreach (var todos in new[] { 10, 100, 1_000 })
        {
            rates[todos] = await MeasureAsync(redis, todos, ticks);
            Console.WriteLine($"{todos,5} todos per list: {rates[todos]:0} events/s");
        }
        return new BenchResult("change-cost", rates[1_000], "events/s", rates[10]);
    }

    private static async Task<double> MeasureAsync(string redis, int todos, int ticks)
    {
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var logFile = Path.Combine(directory.FullName, "log.db");
        var prefix = $"bench-cc-{Guid.NewGuid():N}:";
        try
        {
            var created = await FillLogAsync(logFile, todos, ticks);
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var unbundled = builder.Services.AddUnbundled()
                .UseSqliteLog(options => options.Path = logFile)
                .AddModelType("todo-list")
                .AddProjection(new TodoItemsProjection());
            builder.Services.AddRedisCacheSink(defaults => defaults.Connection = redis);
            unbundled.AddBenchPipeline("items", "todo-list", new NamedProjection(TodoItemsProjection.ProjectionName),
                RedisCacheSinkFactory.ConnectorName, new RedisCacheOptions { Prefix = prefix, Key = "{listId}:{id}" });
            using var host = builder.Build();
            await host.StartAsync();
            host.Services.GetRequiredService<PipelineMonitor>().TryGet("items", out var progress);
            // The lists' creation is derived first, untimed; the clock runs over the ticks alone.
            while (progress!.Offset < created) await Task.Delay(1);
            var (clock, from) = (Stopwatch.StartNew(), progress.Offset);
            var head = created + ticks;
            await progress.WaitForOffsetAsync(head, TimeSpan.FromMinutes(10), default);
            var rate = (head - from) / clock.Elapsed.TotalSeconds;
            await host.StopAsync();
            return rate;
        }
        finally
        {
            await RedisReplayScenario.CleanAsync(redis, prefix);
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Creates the lists, then appends the ticks round-robin over them; answers the position the creation ends at.</summary>
    private static async Task<long> FillLogAsync(string logFile, int todos, int ticks)
    {
        using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = logFile }));
        await log.InitializeAsync(default);
        using var master = new MasterModel(log, new ModelTypeRegistry([new ModelType("todo-list", [])]), Options.Create(new MasterOptions()), TimeProvider.System, NullLogger<MasterModel>.Instance);
        var versions = new long[Lists];
        for (var list = 0; list < Lists; list++)
        {
            var value = new JsonObject { ["title"] = $"list {list}", ["todos"] = new JsonArray([.. Enumerable.Range(0, todos).Select(t => (JsonNode)new JsonObject { ["id"] = $"t{t}", ["title"] = $"todo {t}", ["done"] = false })]) };
            versions[list] = (await master.FlushAsync(new FlushRequest(new ModelKey("todo-list", $"l{list}"), 0, [new Command { Op = CommandOp.Create, Path = "", Value = value }]), default)).Version;
        }
        var created = await log.ReadHeadAsync(default);
        for (var tick = 0; tick < ticks; tick++)
        {
            var (list, round) = (tick % Lists, tick / Lists);
            var done = new Command { Op = CommandOp.Update, Path = $"/todos/[id=t{round % todos}]/done", Value = round / todos % 2 == 0 };
            versions[list] = (await master.FlushAsync(new FlushRequest(new ModelKey("todo-list", $"l{list}"), versions[list], [done]), default)).Version;
        }
        return created;
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Redis;
using Unbundled.Log;
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
/// entry, derived through the demo's <c>todo-items</c> projection into a Redis view; events/s over the
/// ticks alone. The lists' creation is derived first, untimed; then the ticks are appended to the log in
/// one transaction and the clock runs from just before that append until the view's offset reaches the
/// log's head. (Timing from the first offset past the creation, as this bench once did, missed most of
/// the work: the worker derives its next batch while it writes one, so the offset jumps.) The value is
/// the rate at 1,000 todos, the baseline the rate at 10: a change that cost the size of its model would
/// give about 0.01.
/// </summary>
internal static class ChangeCostScenario
{
    private const int Lists = 20;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        // The baseline is measured first: untimed, a short pass lets the JIT reach its last tier before it does.
        await MeasureAsync(redis, 10, 20_000);
        var rates = new Dictionary<int, double>();
        // As many ticks for every size: when a change costs what it changes, each size runs as long. (With fewer
        // for the larger lists, as when a tick cost the whole list, the 1,000-todo pass ran for 70 ms: noise.)
        foreach (var (todos, ticks) in new[] { (10, 20_000), (100, 20_000), (1_000, 20_000) })
        {
            rates[todos] = await MeasureAsync(redis, todos, quick ? ticks : ticks * 5);
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
            var (created, versions) = await CreateListsAsync(logFile, todos);
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
            await progress!.WaitForOffsetAsync(created, TimeSpan.FromMinutes(10), default);

            var clock = Stopwatch.StartNew();
            var head = await AppendTicksAsync(host.Services.GetRequiredService<ICommandLog>(), todos, ticks, versions);
            await progress.WaitForOffsetAsync(head, TimeSpan.FromMinutes(10), default);
            var rate = ticks / clock.Elapsed.TotalSeconds;
            await host.StopAsync();
            return rate;
        }
        finally
        {
            await RedisKeys.DeletePrefixAsync(redis, prefix);
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Creates the lists through the master; answers the position the creation ends at and each list's version.</summary>
    private static async Task<(long Created, long[] Versions)> CreateListsAsync(string logFile, int todos)
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
        return (await log.ReadHeadAsync(default), versions);
    }

    /// <summary>
    /// Appends the ticks, round-robin over the lists' todos, straight to the log in one transaction (what a flush
    /// costs is the write path's business, not the derivation's); answers the log's head after them.
    /// </summary>
    private static async Task<long> AppendTicksAsync(ICommandLog log, int todos, int ticks, long[] versions)
    {
        var now = DateTimeOffset.UtcNow;
        var appends = Enumerable.Range(0, Lists).Select(list => new ModelAppend(new ModelKey("todo-list", $"l{list}"), versions[list],
            [.. Enumerable.Range(0, ticks / Lists).Select(round => new Command { Op = CommandOp.Update, Path = $"/todos/[id=t{round % todos}]/done", Value = round / todos % 2 == 0 })], now)).ToList();
        var landed = await log.AppendAsync(appends, default);
        return landed.Max(l => l.LastPosition);
    }
}

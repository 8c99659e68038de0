using Unbundled.Bench;
using Unbundled.Bench.Scenarios;

// dotnet run -c Release --project bench/Unbundled.Bench -- <scenario> [--quick]
IReadOnlyDictionary<string, Func<bool, Task<BenchResult>>> scenarios = new Dictionary<string, Func<bool, Task<BenchResult>>>
{
    ["append-postgres"] = AppendScenario.PostgresAsync,
    ["append-sqlite"] = AppendScenario.SqliteAsync,
    ["redis-replay"] = RedisReplayScenario.RunAsync,
    ["es-bulk-encode"] = EsBulkEncodeScenario.RunAsync,
    ["rebuild-lucene"] = RebuildLuceneScenario.RunAsync,
    ["feed-latency"] = FeedLatencyScenario.RunAsync,
    ["feed-fanout"] = FeedFanOutScenario.RunAsync,
    ["demo-e2e"] = DemoEndToEndScenario.RunAsync,
    ["view-latency"] = ViewLatencyScenario.RunAsync,
    ["change-cost"] = ChangeCostScenario.RunAsync,
    ["sustained"] = SustainedScenario.RunAsync,
    ["aggregate-replay"] = AggregateReplayScenario.RunAsync,
    ["pg-cdc"] = PostgresCdcScenario.CdcAsync,
    ["pg-snapshot"] = PostgresCdcScenario.SnapshotAsync,
    ["kafka-consume"] = KafkaScenario.ConsumeAsync,
    ["kafka-publish"] = KafkaScenario.PublishAsync,
};

if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: Unbundled.Bench <scenario> [--quick]\nscenarios: {string.Join(", ", scenarios.Keys)}");
    return 2;
}

var quick = args.Contains("--quick");
if (quick && !WarmsUpItself(args[0]))
{
    // A short run times mostly the JIT's first tiers and cold connections, which a long run amortises:
    // one untimed pass first brings --quick within reach of the full run's ratio.
    Console.WriteLine("warm-up pass (not timed):");
    await run(true);
    Console.WriteLine("timed pass:");
}
var result = await run(quick);
Console.WriteLine(result);
return 0;

// Latency scenarios, and change-cost (whose first pass is its baseline), warm up on their own before they measure.
static bool WarmsUpItself(string scenario) => scenario is "feed-latency" or "feed-fanout" or "demo-e2e" or "view-latency" or "sustained" or "change-cost";

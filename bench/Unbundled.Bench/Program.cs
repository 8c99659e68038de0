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
};

if (args.Length == 0 || !scenarios.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: Unbundled.Bench <scenario> [--quick]\nscenarios: {string.Join(", ", scenarios.Keys)}");
    return 2;
}

var result = await run(args.Contains("--quick"));
Console.WriteLine(result);
return 0;

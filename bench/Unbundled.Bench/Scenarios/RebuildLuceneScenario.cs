using System.Diagnostics;
using System.Text.Json.Nodes;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.Util;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Lucene;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.Rebuild;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// A rebuild of the Lucene view over the whole log (generation 1 written beside generation 0, then
/// swapped in), events/s, against raw Lucene indexing of the same documents (one update per event,
/// the same fields, one commit per 1,000) in the same run.
/// </summary>
internal static class RebuildLuceneScenario
{
    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var entries = quick ? 100_000 : 1_000_000;
        var directory = System.IO.Directory.CreateTempSubdirectory("unbundled-bench-");
        try
        {
            var logFile = Path.Combine(directory.FullName, "log.db");
            await RedisReplayScenario.FillLogAsync(logFile, entries);
            var value = await RebuildAsync(logFile, Path.Combine(directory.FullName, "view"), entries);
            var baseline = RawIndexing(Path.Combine(directory.FullName, "raw"), entries);
            return new BenchResult("rebuild-lucene", value, "events/s", baseline);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static async Task<double> RebuildAsync(string logFile, string view, int entries)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var unbundled = builder.Services.AddUnbundled()
            .UseSqliteLog(options => options.Path = logFile)
            .AddModelType("list")
            .AddSinkConnector(new LuceneIndexSinkFactory());
        unbundled.AddBenchPipeline("search", "list",
            new SelectProjection("{key}", [new SelectField("title", new PathValue("after.title")), new SelectField("n", new PathValue("after.n"))]),
            LuceneIndexSinkFactory.ConnectorName, new LuceneIndexOptions { Directory = view });
        using var host = builder.Build();
        await host.StartAsync();
        host.Services.GetRequiredService<PipelineMonitor>().TryGet("search", out var progress);
        await progress!.WaitForOffsetAsync(entries, TimeSpan.FromMinutes(10), default);
        Console.WriteLine("generation 0 built; rebuilding generation 1");

        var clock = Stopwatch.StartNew();
        if (!host.Services.GetRequiredService<RebuildRequests>().Find("search")!.TryRequest()) throw new InvalidOperationException("the rebuild was refused");
        while (progress.Generation == 0) await Task.Delay(20);
        clock.Stop();
        await host.StopAsync();
        var rate = entries / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"rebuild: {entries} events into a new Lucene generation in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} events/s");
        return rate;
    }

    private static double RawIndexing(string path, int entries)
    {
        var perModel = RedisReplayScenario.VersionsPerModel;
        using var directory = FSDirectory.Open(path);
        using var analyzer = new StandardAnalyzer(LuceneVersion.LUCENE_48, CharArraySet.Empty);
        using var writer = new IndexWriter(directory, new IndexWriterConfig(LuceneVersion.LUCENE_48, analyzer));
        var clock = Stopwatch.StartNew();
        for (var e = 0; e < entries; e++)
        {
            var model = e / perModel;
            var n = e % perModel;
            var source = new JsonObject { ["title"] = "list", ["n"] = n }.ToJsonString();
            writer.UpdateDocument(new Term("_id", $"l{model}"),
            [
                new StringField("_id", $"l{model}", Field.Store.YES),
                new StoredField("_source", source),
                new TextField("title", "list", Field.Store.NO),
                new StringField("n", n.ToString(System.Globalization.CultureInfo.InvariantCulture), Field.Store.NO),
            ]);
            if (e % 1000 == 999) writer.Commit();
        }
        writer.Commit();
        var rate = entries / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"raw Lucene indexing: {entries} updates in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} documents/s");
        return rate;
    }
}

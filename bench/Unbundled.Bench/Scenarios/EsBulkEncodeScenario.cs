using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Connectors.Elasticsearch.Bulk;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// The Elasticsearch connector's bulk request building (action lines with external versions, then
/// sources), documents/s, against serialising the same documents with System.Text.Json alone.
/// </summary>
internal static class EsBulkEncodeScenario
{
    private const int BatchSize = 500;

    public static Task<BenchResult> RunAsync(bool quick)
    {
        var documents = Enumerable.Range(0, BatchSize).Select(i => SinkDocument.Upsert($"groceries:{i}", i + 1, i + 1, new JsonObject
        {
            ["id"] = $"{i}",
            ["listId"] = "groceries",
            ["title"] = $"todo number {i} with a few words",
            ["done"] = i % 3 == 0,
            ["createdAt"] = "2026-11-23T09:30:00.0000000+00:00",
        })).ToList();
        var rounds = quick ? 400 : 4_000;
        Measure(documents, 20);

        var (connector, raw) = (0.0, 0.0);
        for (var round = 0; round < 7; round++)
        {
            raw = Math.Max(raw, Measure(documents, rounds, documents => JsonSerializer.SerializeToUtf8Bytes(documents.Select(d => d.Document).ToList()).Length));
            connector = Math.Max(connector, Measure(documents, rounds));
        }
        Console.WriteLine($"bulk encoding: {connector:0} documents/s; System.Text.Json alone: {raw:0} documents/s");
        return Task.FromResult(new BenchResult("es-bulk-encode", connector, "documents/s", raw));
    }

    /// <summary>Like the sink, the connector side reuses one buffer for every request.</summary>
    private static double Measure(List<SinkDocument> documents, int rounds)
    {
        var body = new ArrayBufferWriter<byte>();
        return Measure(documents, rounds, batch =>
        {
            body.ResetWrittenCount();
            BulkRequestWriter.Write("todos", batch, body);
            return body.WrittenCount;
        });
    }

    private static double Measure(List<SinkDocument> documents, int rounds, Func<List<SinkDocument>, int> encode)
    {
        var bytes = 0L;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < rounds; i++) bytes += encode(documents);
        GC.KeepAlive(bytes);
        return rounds * (double)documents.Count / clock.Elapsed.TotalSeconds;
    }
}

using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Connectors.Elasticsearch;
using Unbundled.Connectors.Elasticsearch.Bulk;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// The Elasticsearch connector's bulk request building (action lines with external versions, then
/// sources) up to the bytes the official client's transport puts on the wire, documents/s, against
/// serialising the same documents with System.Text.Json alone.
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

    /// <summary>
    /// What the sink does for each bulk request: its reused <see cref="BulkBody"/>, then the transport
    /// writing that body out as it does into a request stream (here a reused memory stream), with the
    /// client settings the connector builds.
    /// </summary>
    private static double Measure(List<SinkDocument> documents, int rounds)
    {
        var body = new BulkBody();
        var transport = ElasticsearchClients.Create(new ElasticsearchOptions()).ElasticsearchClientSettings;
        var wire = new MemoryStream();
        return Measure(documents, rounds, batch =>
        {
            wire.Position = 0;
            body.Write("todos", batch).Write(wire, transport, disableDirectStreaming: false);
            return (int)wire.Position;
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

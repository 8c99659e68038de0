using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Sdk.Sources;
using Unbundled.Testing;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Kafka;

/// <summary>Debezium's documented messages (Samples/, see its README) produced with kcat, and sources reading them.</summary>
internal static class DebeziumSamples
{
    private static string Folder => Path.Combine(LocalServices.RepositoryRoot(), "tests", "Unbundled.Tests", "Sources", "Kafka", "Samples");

    /// <summary>The topic Debezium writes <paramref name="sample"/> to.</summary>
    public static string TopicOf(string sample) =>
        File.ReadLines(Path.Combine(Folder, "topics.txt")).Select(l => l.Split(' ')).Single(p => p[0] == sample)[1];

    /// <summary>The sample's key and value as one line each (null for a null key or a tombstone).</summary>
    public static (string? Key, string? Value) Read(string sample) => (Compact(Path.Combine(Folder, $"{sample}.key.json")), Compact(Path.Combine(Folder, $"{sample}.value.json")));

    private static string? Compact(string file) => JsonNode.Parse(File.ReadAllText(file))?.ToJsonString();

    /// <summary>Produces <paramref name="messages"/> (key, value; null for none) to <paramref name="topic"/> with kcat, in order.</summary>
    public static Task ProduceAsync(KafkaServer kafka, string topic, IEnumerable<(string? Key, string? Value)> messages) =>
        // kcat: -K splits key from value at the unit separator, -Z sends an empty key or value as null (a tombstone).
        kafka.KcatAsync(string.Concat(messages.Select(m => $"{m.Key}\u001f{m.Value}\n")), "-P", "-t", topic, "-K", "\u001f", "-Z");

    /// <summary>A connected kafka source over <paramref name="options"/>, in a group of its own.</summary>
    public static async Task<KafkaSource> SourceAsync(KafkaSourceOptions options)
    {
        options.Group ??= $"test.{Guid.NewGuid():N}";
        var source = (KafkaSource)new KafkaSourceFactory().Create(options, new SourceContext("samples", "debezium", new ServiceCollection().BuildServiceProvider()));
        await source.ConnectAsync(default);
        return source;
    }

    /// <summary>Everything the source holds now, read to its head.</summary>
    public static async Task<List<SourceRecord>> DrainAsync(ISourceConnector source, int expected)
    {
        var records = new List<SourceRecord>();
        var offset = 0L;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            var batch = await source.ReadAsync(offset, 1000, default);
            records.AddRange(batch.Records);
            offset = Math.Max(offset, batch.Offset);
            await source.AcknowledgeAsync(offset, default);
            if (batch.Records.Count == 0) await source.WaitAsync(offset, default).WaitAsync(TimeSpan.FromSeconds(1)).ContinueWith(_ => { });
        }
        return records;
    }
}

using System.Text;
using Confluent.Kafka;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Feeds;

/// <summary>
/// A push feed over a kafka source: a consumer group cannot read its topic again beside the pipeline, so a
/// subscriber that missed changes is told to refetch (as one too far behind the log is) and follows live,
/// instead of failing its catch-up.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedOverKafkaTests(KafkaServer kafka) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_subscriber_that_missed_changes_is_told_to_refetch_then_follows_live()
    {
        var topic = $"feed-{Guid.NewGuid():N}"[..16];
        await kafka.CreateTopicAsync(topic, 1);
        using var producer = kafka.Producer();
        for (var id = 1; id <= 3; id++) await ProduceAsync(producer, topic, id);
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              rows: { connector: kafka, brokers: "{{kafka.Brokers}}", topics: [ "{{topic}}" ], properties: { session.timeout.ms: "6000" } }
            sinks:
              row-feed: { connector: push-feed, channel: "rows" }
            pipelines:
              row-changes: { from: rows, to: row-feed }
            """, 1);
        await server.WaitForStatusAsync("row-changes", status => (long)status["offset"]! >= 3);

        await using var feed = await RawSse.OpenAsync(server.Client, "/feeds/row-changes?channel=rows&after=1");
        var refetch = await feed.NextAsync();
        var ready = await feed.ReadUntilAsync("ready");
        await ProduceAsync(producer, topic, 4);
        var change = await feed.ReadUntilAsync("change");

        Assert.Equal("must-refetch", refetch!.Event);
        Assert.Contains("cannot derive what was missed", (string?)refetch.Data!["reason"]);
        Assert.Equal(refetch.Id, ready.Last().Id);
        Assert.Equal(4, (int)change.Last().Data!["document"]!["id"]!);
    }

    private static Task ProduceAsync(IProducer<byte[]?, byte[]?> producer, string topic, int id) =>
        producer.ProduceAsync(topic, new Message<byte[]?, byte[]?>
        {
            Key = Encoding.UTF8.GetBytes($$"""{"id":{{id}}}"""),
            Value = Encoding.UTF8.GetBytes($$"""{"before":null,"after":{"id":{{id}}},"source":{"connector":"postgresql","table":"t","lsn":{{100 + id}}},"op":"c","ts_ms":0}"""),
        });

    public void Dispose() => _directory.Dispose();
}

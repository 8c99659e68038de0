using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Sdk.Sources;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Kafka;

/// <summary>Which consumer group a kafka source joins, and so whether instances share a topic's partitions or each read them all.</summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class KafkaGroupTests(KafkaServer kafka)
{
    [Fact]
    public async Task Disposing_a_source_while_other_threads_read_its_head_ends_their_reads_rather_than_the_process()
    {
        var topic = $"heads-{Guid.NewGuid():N}"[..16];
        await kafka.CreateTopicAsync(topic, 4);
        var source = await DebeziumSamples.SourceAsync(new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] });
        using var stop = new CancellationTokenSource();
        // Status pages and feeds read a pipeline's head from threads of their own, while a rebuild may retire its reader.
        var readers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var (read, refused) = (0, 0);
            while (!stop.IsCancellationRequested)
            {
                try { await source.ReadHeadAsync(default); read++; }
                catch (ObjectDisposedException) { refused++; }
            }
            return (read, refused);
        })).ToList();
        await Task.Delay(500);

        await source.DisposeAsync();
        await Task.Delay(200);
        await stop.CancelAsync();
        // Any other failure (before: librdkafka's timeouts on the closing handle, or the process aborting) ends WhenAll.
        var outcomes = await Task.WhenAll(readers);

        // Once the partitions are revoked at close a head read needs no query, so a reader need not meet a refusal.
        Assert.All(outcomes, outcome => Assert.True(outcome.read > 0, $"{outcome.read} reads, {outcome.refused} refused"));
    }

    [Fact]
    public async Task Readers_that_serve_each_instance_in_full_read_every_partition_in_groups_of_their_own()
    {
        var topic = $"feed-{Guid.NewGuid():N}"[..16];
        await kafka.CreateTopicAsync(topic, 4);
        using (var producer = kafka.Producer())
        {
            for (var i = 0; i < 20; i++)
                await producer.ProduceAsync(topic, new Message<byte[]?, byte[]?>
                {
                    Key = Encoding.UTF8.GetBytes($$"""{"id":{{i}}}"""),
                    Value = Encoding.UTF8.GetBytes($$"""{"before":null,"after":{"id":{{i}}},"source":{"connector":"postgresql","table":"t","lsn":{{100 + i}}},"op":"c","ts_ms":0}"""),
                });
        }
        var options = new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] };
        var services = new ServiceCollection().BuildServiceProvider();
        var factory = new KafkaSourceFactory();
        await using var first = (KafkaSource)factory.Create(options, new SourceContext("feed", "topic", services) { Instance = "a" });
        await using var second = (KafkaSource)new KafkaSourceFactory().Create(options, new SourceContext("feed", "topic", services) { Instance = "b" });
        await first.ConnectAsync(default);
        await second.ConnectAsync(default);

        var (readByFirst, readBySecond) = (await DebeziumSamples.DrainAsync(first, 20), await DebeziumSamples.DrainAsync(second, 20));

        Assert.Equal(("unbundled.feed.g0.a", "unbundled.feed.g0.b"), (first.Group, second.Group));
        Assert.Equal(20, readByFirst.Select(r => r.Key).Distinct().Count());
        Assert.Equal(20, readBySecond.Select(r => r.Key).Distinct().Count());
        // Status asks a lookup beside the pipeline: it answers for the group the pipeline's reader really uses.
        await using var lookup = factory.Create(options, new SourceContext("feed", "topic", services) { Lookup = true });
        await lookup.ConnectAsync(default);
        Assert.Equal("unbundled.feed.g0.a", (await ((IDescribedSource)lookup).DescribeAsync(default))["group"]);
        Assert.Equal(20, await lookup.ReadHeadAsync(default));

        // A pipeline that runs once across instances keeps the one group they share.
        await using var shared = (KafkaSource)new KafkaSourceFactory().Create(options, new SourceContext("feed", "topic", services));
        Assert.Equal("unbundled.feed.g0", shared.Group);
    }
}

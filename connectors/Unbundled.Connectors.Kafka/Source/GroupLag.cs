using System.Globalization;
using Confluent.Kafka;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>A consumer group's committed offsets and lag per partition, read without joining the group.</summary>
internal static class GroupLag
{
    /// <summary>As name → value: <c>group</c>, <c>lag</c> (total), and <c>topic[partition]</c> → <c>committed N, lag M</c>.</summary>
    public static IReadOnlyDictionary<string, string> Describe(KafkaSourceOptions options, string group)
    {
        var config = options.ClientConfig([new("group.id", group), new("enable.auto.commit", "false")]).ToDictionary();
        using var admin = new AdminClientBuilder(new AdminClientConfig(config)).Build();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(5));
        var pattern = options.TopicPattern is { } p ? new System.Text.RegularExpressions.Regex("^" + p.TrimStart('^')) : null;
        var partitions = metadata.Topics
            .Where(t => pattern?.IsMatch(t.Topic) ?? options.Topics.Contains(t.Topic))
            .SelectMany(t => t.Partitions.Select(partition => new TopicPartition(t.Topic, partition.PartitionId)))
            .OrderBy(tp => tp.Topic, StringComparer.Ordinal).ThenBy(tp => tp.Partition.Value)
            .ToList();
        // A consumer that never subscribes reads the group's commits without becoming a member.
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig(config)).Build();
        var described = new Dictionary<string, string> { ["group"] = group };
        var total = 0L;
        foreach (var committed in partitions.Count == 0 ? [] : consumer.Committed(partitions, TimeSpan.FromSeconds(5)))
        {
            var watermarks = consumer.QueryWatermarkOffsets(committed.TopicPartition, TimeSpan.FromSeconds(5));
            var at = options.StartOf(committed.Offset, () => watermarks);
            var lag = Math.Max(0, watermarks.High.Value - at);
            total += lag;
            described[$"{committed.Topic}[{committed.Partition.Value}]"] = string.Create(CultureInfo.InvariantCulture,
                $"committed {(committed.Offset.Value >= 0 ? committed.Offset.Value.ToString(CultureInfo.InvariantCulture) : "none")}, lag {lag}");
        }
        described["lag"] = total.ToString(CultureInfo.InvariantCulture);
        return described;
    }
}

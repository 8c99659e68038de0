using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>
/// Copies each record the source cannot read to a topic, with the headers Kafka Connect's dead-letter
/// queues carry (<c>__connect.errors.topic</c>, <c>.partition</c>, <c>.offset</c>, <c>.exception.message</c>, …),
/// so tools built for those read ours. The dead-letter store keeps the record too; this is a copy.
/// </summary>
internal sealed class DeadLetterTopic(KafkaSourceOptions options, string topic, string pipeline, ILogger logger) : IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer = new ProducerBuilder<byte[]?, byte[]?>(
        new ProducerConfig(options.ClientConfig([new("enable.idempotence", "true"), new("client.id", $"unbundled-{pipeline}-dlq")]).ToDictionary())).Build();

    /// <summary>Sends <paramref name="record"/> with why it could not be read.</summary>
    public void Send(ConsumeResult<byte[], byte[]> record, string reason)
    {
        var headers = new Headers();
        foreach (var header in record.Message.Headers ?? []) headers.Add(header.Key, header.GetValueBytes());
        void Add(string name, string value) => headers.Add($"__connect.errors.{name}", Encoding.UTF8.GetBytes(value));
        Add("topic", record.Topic);
        Add("partition", record.Partition.Value.ToString(CultureInfo.InvariantCulture));
        Add("offset", record.Offset.Value.ToString(CultureInfo.InvariantCulture));
        Add("connector.name", pipeline);
        Add("stage", "VALUE_CONVERTER");
        Add("class.name", "Unbundled.Connectors.Kafka.Source.EnvelopeReader");
        Add("exception.class.name", "Unbundled.UnreadableRecord");
        Add("exception.message", reason);
        _producer.Produce(topic, new Message<byte[]?, byte[]?> { Key = record.Message.Key, Value = record.Message.Value, Headers = headers }, report =>
        {
            if (report.Error.IsError) logger.LogWarning("Pipeline {Pipeline}: copying an unreadable record to {Topic} failed: {Reason}", pipeline, topic, report.Error.Reason);
        });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}

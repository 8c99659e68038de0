namespace Unbundled.Connectors.Kafka.Source;

/// <summary>Options of the <c>kafka</c> source: which topics, read by which consumer group, in which shape.</summary>
public sealed class KafkaSourceOptions : KafkaClientOptions
{
    /// <summary>The topics to read.</summary>
    public List<string> Topics { get; set; } = [];

    /// <summary>Instead of <see cref="Topics"/>: a regular expression every topic to read matches (topics created later are picked up).</summary>
    public string? TopicPattern { get; set; }

    /// <summary>The consumer group; default <c>unbundled.&lt;pipeline&gt;.g&lt;generation&gt;</c>, so that each rebuild reads the topics again from the start.</summary>
    public string? Group { get; set; }

    /// <summary>Where a group with no committed offsets starts: <c>earliest</c> (default) or <c>latest</c>.</summary>
    public string Start { get; set; } = "earliest";

    /// <summary><c>debezium</c> (default): Debezium envelopes, ours included; <c>outbox</c>: Debezium changes of an outbox table (<c>aggregatetype</c>, <c>aggregateid</c>, <c>payload</c>).</summary>
    public string Format { get; set; } = "debezium";

    /// <summary>The dotted path of the envelope field that versions each change (e.g. <c>source.lsn</c>); default: <c>source.version</c> when present, else the connector's own position (PostgreSQL LSN, MySQL binlog file and position).</summary>
    public string? Version { get; set; }

    /// <summary>A topic that receives each record the source cannot read, with Kafka Connect's <c>__connect.errors.*</c> headers (besides the dead-letter store).</summary>
    public string? DeadLetterTopic { get; set; }

    /// <summary>Where the group reads a partition from: its committed offset, else the end <see cref="Start"/> names.</summary>
    internal long StartOf(Confluent.Kafka.Offset committed, Func<Confluent.Kafka.WatermarkOffsets> watermarks) =>
        committed.Value >= 0 ? committed.Value : Start == "latest" ? watermarks().High.Value : watermarks().Low.Value;
}

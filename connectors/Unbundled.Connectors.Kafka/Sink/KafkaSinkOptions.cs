namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>Options of the <c>kafka</c> sink: which topics the view's changes go to, and in which shape.</summary>
public sealed class KafkaSinkOptions : KafkaClientOptions
{
    /// <summary>Topics are named <c>&lt;prefix&gt;.&lt;table&gt;</c> (the model type or captured table), as Debezium names its topics.</summary>
    public string TopicPrefix { get; set; } = "unbundled";

    /// <summary>One topic for everything instead of a topic per table.</summary>
    public string? Topic { get; set; }

    /// <summary><c>change</c> (default): each change as its source saw it (before, after); <c>document</c>: each projected document as <c>after</c>.</summary>
    public string Value { get; set; } = "change";

    /// <summary>Wraps keys and values in Kafka Connect's <c>{schema, payload}</c> (as <c>schemas.enable=true</c>); default false.</summary>
    public bool Schemas { get; set; }

    /// <summary>Follows each delete with a tombstone (a null value), so that a compacted topic forgets the key; default true.</summary>
    public bool Tombstones { get; set; } = true;
}

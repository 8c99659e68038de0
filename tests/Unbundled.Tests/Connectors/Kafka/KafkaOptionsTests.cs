using Unbundled.Connectors.Kafka.Sink;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Connectors.Redis;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Projections;
using Unbundled.Sources.CommandLog;

namespace Unbundled.Tests.Connectors.Kafka;

/// <summary>Mistakes in the kafka source's and sink's options, each refused when pipelines.yaml loads, at its line and column.</summary>
public sealed class KafkaOptionsTests
{
    private const string Valid = """
        sources:
          log: { models: [todo-list] }
          orders:
            connector: kafka
            brokers: "kafka-1:9092,kafka-2:9092"
            topics: [shop.public.orders]
        sinks:
          topics:
            connector: kafka
            brokers: "kafka-1:9092"
            topic-prefix: unbundled
          cache: { connector: redis, key: "{key}" }
        pipelines:
          publish: { from: log, select: { fields: after }, to: topics }
          mirror: { from: orders, select: { fields: after }, to: cache }
        """;

    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "no brokers", Valid.Replace("    brokers: \"kafka-1:9092,kafka-2:9092\"\n", ""), "p.yaml:4:5: error: 'brokers' of source 'orders': the bootstrap servers are required (host:port[,host:port…])" },
        { "a broker without port", Valid.Replace("kafka-1:9092,kafka-2:9092", "kafka-1:9092,kafka-2"), "p.yaml:5:14: error: 'brokers' of source 'orders': 'kafka-2' is not host:port" },
        { "no topics", Valid.Replace("    topics: [shop.public.orders]\n", ""), "p.yaml:4:5: error: 'topics' of source 'orders': name the topics to read, or a 'topic-pattern'" },
        { "topics and a pattern", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    topic-pattern: \"shop\\\\..*\""), "p.yaml:7:20: error: 'topic-pattern' of source 'orders': name either 'topics' or a 'topic-pattern', not both" },
        { "a pattern that is no regex", Valid.Replace("    topics: [shop.public.orders]", "    topic-pattern: \"shop(\""), "p.yaml:6:20: error: 'topic-pattern' of source 'orders': it is not a regular expression: Invalid pattern 'shop(' at offset 5. Not enough )'s." },
        { "a topic name Kafka refuses", Valid.Replace("[shop.public.orders]", "[\"shop orders\"]"), "p.yaml:6:14: error: 'topics' of source 'orders': " + TopicRule },
        { "an unknown start", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    start: beginning"), "p.yaml:7:12: error: 'start' of source 'orders': it must be 'earliest' or 'latest'" },
        { "an unknown format", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    format: avro"), "p.yaml:7:13: error: 'format' of source 'orders': it must be 'debezium' or 'outbox'" },
        { "an empty version path", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    version: source..lsn"), "p.yaml:7:14: error: 'version' of source 'orders': it must be a dotted path into the envelope, such as source.lsn" },
        { "an unknown source option", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    grup: mine"), "p.yaml:7:5: error: unknown key 'grup' in source 'orders'. Did you mean 'group'?" },
        { "a setting librdkafka does not know", Valid.Replace("    topics: [shop.public.orders]", "    topics: [shop.public.orders]\n    properties: { fetch.max.wait.ms: \"100\" }"), "p.yaml:7:17: error: 'properties' of source 'orders': 'fetch.max.wait.ms': No such configuration property: \"fetch.max.wait.ms\"" },
        { "a setting out of range", Valid.Replace("    topic-prefix: unbundled", "    topic-prefix: unbundled\n    properties: { batch.num.messages: \"0\" }"), "p.yaml:12:17: error: 'properties' of sink 'topics': 'batch.num.messages': Configuration property \"batch.num.messages\" value 0 is outside allowed range 1..1000000" },
        { "an unknown sink value", Valid.Replace("    topic-prefix: unbundled", "    topic-prefix: unbundled\n    value: row"), "p.yaml:12:12: error: 'value' of sink 'topics': it must be 'change' or 'document'" },
        { "a sink topic Kafka refuses", Valid.Replace("    topic-prefix: unbundled", "    topic: \"a/b\""), "p.yaml:11:12: error: 'topic' of sink 'topics': " + TopicRule },
        { "schemas not a boolean", Valid.Replace("    topic-prefix: unbundled", "    topic-prefix: unbundled\n    schemas: maybe"), "p.yaml:12:14: error: 'schemas' in sink 'topics': 'maybe' is not true or false" },
    };

    private const string TopicRule = "a Kafka topic name is 1 to 249 of the characters a-z A-Z 0-9 . _ -";

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_is_refused_at_its_place(string mistake, string yaml, string expected)
    {
        var result = Loader().Parse(yaml, "p.yaml");

        Assert.Null(result.Document);
        Assert.True(result.Problems.Count > 0, mistake);
        Assert.Equal(expected, string.Join("\n", result.Problems));
    }

    [Fact]
    public void The_valid_file_loads_with_the_defaults_users_expect()
    {
        var document = Loader().Parse(Valid, "p.yaml").Require();

        var source = Assert.IsType<KafkaSourceOptions>(document.Pipelines.Single(p => p.Name == "mirror").Source.Options);
        var sink = Assert.IsType<KafkaSinkOptions>(document.Pipelines.Single(p => p.Name == "publish").Sink.Options);
        Assert.Equal(("earliest", "debezium", null), (source.Start, source.Format, source.Group));
        Assert.Equal(("change", false, true), (sink.Value, sink.Schemas, sink.Tombstones));
    }

    private static PipelinesFileLoader Loader()
    {
        var connectors = new ConnectorCatalog();
        connectors.Add(new CommandLogSourceFactory(["todo-list"]));
        connectors.Add(new KafkaSourceFactory());
        connectors.Add(new KafkaSinkFactory());
        connectors.Add(new RedisCacheSinkFactory());
        return new PipelinesFileLoader(connectors, new Dictionary<string, IProjection>(), new EnvironmentSubstitution(_ => null));
    }
}

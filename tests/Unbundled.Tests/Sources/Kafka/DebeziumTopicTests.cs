using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Connectors.Redis;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Projection;
using Unbundled.Testing;
using Unbundled.Tests.Pipelines;
using Unbundled.Sdk.Events;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Kafka;

/// <summary>
/// The kafka source on real Debezium topics: the messages Debezium's documentation shows for its
/// PostgreSQL and MySQL connectors (with and without schemas, every op, tombstones, placeholders,
/// heartbeats, transaction metadata, the outbox), produced by kcat, an independent client.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DebeziumTopicTests(KafkaServer kafka)
{
    private static readonly string[] Samples =
    [
        "postgres-create-schema", "postgres-create", "postgres-update", "postgres-delete", "postgres-tombstone", "postgres-read", "postgres-truncate", "postgres-unavailable",
        "mysql-create-schema", "mysql-create", "mysql-update", "mysql-delete", "heartbeat", "transaction-begin", "transaction-end",
    ];

    /// <summary>Produces each sample to its Debezium topic under a prefix of this test, in order; returns the prefix.</summary>
    private async Task<string> ProduceAsync(params string[] samples)
    {
        var prefix = $"t{Guid.NewGuid():N}"[..12];
        foreach (var topic in samples.Select(DebeziumSamples.TopicOf).Distinct()) await kafka.CreateTopicAsync($"{prefix}.{topic}", 1);
        foreach (var sample in samples) await DebeziumSamples.ProduceAsync(kafka, $"{prefix}.{DebeziumSamples.TopicOf(sample)}", [DebeziumSamples.Read(sample)]);
        return prefix;
    }

    [Fact]
    public async Task Debezium_postgres_and_mysql_events_read_as_changes_keyed_by_row_and_versioned_by_their_position_at_the_origin()
    {
        var prefix = await ProduceAsync(Samples);
        await using var source = await DebeziumSamples.SourceAsync(new KafkaSourceOptions { Brokers = kafka.Brokers, TopicPattern = $"^{prefix}\\..*" });

        var records = await DebeziumSamples.DrainAsync(source, expected: 11);

        Assert.All(records, r => Assert.Null(r.Reason));
        var postgres = records.Select(r => r.Change!).Where(c => c.Source.Connector == "postgresql").ToList();
        var mysql = records.Select(r => r.Change!).Where(c => c.Source.Connector == "mysql").ToList();
        // The tombstone after the delete, the heartbeat and the transaction BEGIN/END carry no change.
        Assert.Equal([ChangeOp.Create, ChangeOp.Create, ChangeOp.Update, ChangeOp.Delete, ChangeOp.Read, ChangeOp.Truncate, ChangeOp.Update], postgres.Select(c => c.Op));
        Assert.Equal([ChangeOp.Create, ChangeOp.Create, ChangeOp.Update, ChangeOp.Delete], mysql.Select(c => c.Op));
        Assert.Equal(11, records.Count);

        // With and without the schema block, the same change.
        Assert.True(JsonNode.DeepEquals(postgres[0].After, postgres[1].After), $"{postgres[0].After} != {postgres[1].After}");
        Assert.True(JsonNode.DeepEquals(mysql[0].After, mysql[1].After), $"{mysql[0].After} != {mysql[1].After}");
        Assert.Equal("Anne", (string?)postgres[1].After!["first_name"]);

        // The key is the row's primary key; the version its LSN (PostgreSQL) or binlog file, position and row (MySQL), never a Kafka offset.
        Assert.All(postgres.Where(c => c.Op != ChangeOp.Truncate), c => Assert.Equal("1", c.Key));
        Assert.All(mysql, c => Assert.Equal("1004", c.Key));
        var update = postgres[2];
        Assert.Equal((long)JsonNode.Parse(DebeziumSamples.Read("postgres-update").Value!)!["source"]!["lsn"]!, update.Source.Version);
        Assert.Equal((update.Source.Db, update.Source.Schema, update.Source.Table, update.Source.TxId), ("postgres", "public", "customers", 556L));
        Assert.Equal((3L << 43) | (484L << 11), mysql[2].Source.Version);
        Assert.True(mysql.Zip(mysql.Skip(1)).Skip(1).All(p => p.First.Source.Version < p.Second.Source.Version), "MySQL versions do not grow along the binlog");
        Assert.Equal("true", postgres[4].Source.Snapshot);
        Assert.Null(postgres[3].After);
        Assert.Equal("", postgres[5].Key);

        // The TOAST placeholder is flagged, so that it never overwrites the value a view holds.
        Assert.True(postgres[6].HasUnavailableValues);
        Assert.False(update.HasUnavailableValues);
    }

    [Fact]
    public async Task A_replayed_letter_fills_its_placeholders_from_the_view_rather_than_writing_them()
    {
        var topic = $"t{Guid.NewGuid():N}"[..12] + "." + DebeziumSamples.TopicOf("postgres-unavailable");
        await kafka.CreateTopicAsync(topic, 1);
        var (key, update) = DebeziumSamples.Read("postgres-unavailable");
        // The create Debezium's documentation shows, at an lsn before the update's (the documented pair share one).
        var create = JsonNode.Parse(update!)!.AsObject();
        (create["op"], create["before"], create["after"]!["first_name"], create["after"]!["email"], create["source"]!["lsn"]) = ("c", null, "Anne", "annek@noanswer.org", 24023000);
        var view = new RecordingView { Refuses = document => (string?)document.Document?["first_name"] == "Anne Marie" };
        var at = new SourceSpan("test", 1, 1);
        var pipeline = PipelineHarness.Pipeline("customers", view) with
        {
            Source = new SourceDefinition("debezium", new KafkaSourceFactory(), new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] }, at),
            Projection = new SelectProjection("{key}", [new SelectField(SelectProjector.Spread, new PathValue("after"))]),
        };
        using var directory = new TempDirectory();
        await using var harness = await PipelineHarness.StartAsync(directory.File("log.db"), [pipeline], builder => { });
        await DebeziumSamples.ProduceAsync(kafka, topic, [(key, create.ToJsonString())]);
        for (var i = 0; view.Get("1") is null; i++)
        {
            Assert.True(i < 150, "the create did not reach the view");
            await Task.Delay(100);
        }
        await DebeziumSamples.ProduceAsync(kafka, topic, [(key, update)]);
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("customers", 1));
        Assert.Equal("annek@noanswer.org", (string?)view.Get("1")!["email"]);

        view.Refuses = null;
        var outcome = Assert.Single((await harness.Replays.ReplayAsync("customers", new DeadLetterSelection([letter.Id]), default))!);

        Assert.True(outcome.Written, outcome.Reason);
        Assert.Equal(("Anne Marie", "annek@noanswer.org"), ((string?)view.Get("1")!["first_name"], (string?)view.Get("1")!["email"]));
    }

    [Fact]
    public async Task A_truncate_in_a_topic_is_a_dead_letter_rather_than_a_rebuild_that_would_read_it_again()
    {
        var topic = $"t{Guid.NewGuid():N}"[..12] + "." + DebeziumSamples.TopicOf("postgres-truncate");
        await kafka.CreateTopicAsync(topic, 1);
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var prefix = $"test-{Guid.NewGuid():N}:";
        var at = new SourceSpan("test", 1, 1);
        var pipeline = PipelineHarness.Pipeline("customers", new RecordingView()) with
        {
            Source = new SourceDefinition("debezium", new KafkaSourceFactory(), new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] }, at),
            Projection = new SelectProjection("{key}", [new SelectField(SelectProjector.Spread, new PathValue("after"))]),
            // A sink with generations: a view the engine could rebuild beside itself.
            Sink = new SinkDefinition("cache", new RedisCacheSinkFactory(), new RedisCacheOptions { Prefix = prefix, Connection = redis }, at),
        };
        using var directory = new TempDirectory();
        await using var harness = await PipelineHarness.StartAsync(directory.File("log.db"), [pipeline], builder => builder.Services.AddRedisCacheSink());
        try
        {
            await DebeziumSamples.ProduceAsync(kafka, topic, [DebeziumSamples.Read("postgres-create"), DebeziumSamples.Read("postgres-truncate")]);
            var letter = Assert.Single(await harness.WaitForDeadLettersAsync("customers", 1));

            Assert.Contains("replays its history", letter.Reason);
            Assert.True(harness.Monitor.TryGet("customers", out var progress));
            Assert.Equal((0, (int?)null), (progress!.Generation, progress.RebuildGeneration));
            await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
            Assert.True((await connection.GetDatabase().StringGetAsync(prefix + "1")).HasValue);
        }
        finally
        {
            await RedisKeys.DeletePrefixAsync(redis, prefix);
        }
    }

    [Fact]
    public async Task A_producers_traceparent_header_continues_its_trace_through_the_change_and_a_malformed_one_is_ignored()
    {
        var prefix = $"t{Guid.NewGuid():N}"[..12];
        var topic = $"{prefix}.{DebeziumSamples.TopicOf("postgres-create")}";
        await kafka.CreateTopicAsync(topic, 1);
        var (key, value) = DebeziumSamples.Read("postgres-create");
        const string trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        await kafka.KcatAsync($"{key}\u001f{value}\n", "-P", "-t", topic, "-K", "\u001f", "-H", $"traceparent={trace}");
        await kafka.KcatAsync($"{key}\u001f{value}\n", "-P", "-t", topic, "-K", "\u001f", "-H", "traceparent=not-a-trace");
        await using var source = await DebeziumSamples.SourceAsync(new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] });

        var records = await DebeziumSamples.DrainAsync(source, expected: 2);

        Assert.Equal([trace, null], records.Select(r => r.Change!.TraceParent));
    }

    [Fact]
    public async Task The_outbox_format_turns_an_outbox_row_into_its_aggregates_event()
    {
        var prefix = await ProduceAsync("outbox-raw");
        await using var source = await DebeziumSamples.SourceAsync(new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [$"{prefix}.{DebeziumSamples.TopicOf("outbox-raw")}"], Format = "outbox" });

        var change = Assert.Single(await DebeziumSamples.DrainAsync(source, expected: 1)).Change!;

        Assert.Equal(("Order", "1"), (change.Source.Table, change.Key));
        Assert.Equal(1, (int)change.After!["id"]!);
        Assert.Equal("Debezium in Action", (string?)change.After["lineItems"]![0]!["item"]);
        Assert.Equal(24064704L, change.Source.Version);
    }

    [Fact]
    public async Task A_record_that_is_no_change_event_is_kept_with_its_place_and_why_and_copied_to_the_dead_letter_topic_with_connects_headers()
    {
        var topic = $"poison-{Guid.NewGuid():N}";
        await kafka.CreateTopicAsync(topic, 1);
        var update = DebeziumSamples.Read("postgres-update").Value!;
        var unversioned = JsonNode.Parse(update)!.AsObject();
        unversioned["source"]!.AsObject().Remove("lsn");
        // A repeated field is no JSON object a tree can hold: caught as the message is read, not later in the view.
        var repeated = update.Replace("\"after\":{", "\"after\":{\"id\":0,", StringComparison.Ordinal);
        Assert.NotEqual(update, repeated);
        await DebeziumSamples.ProduceAsync(kafka, topic, [("{\"id\":7}", "not json at all"), ("{\"id\":8}", unversioned.ToJsonString()), ("{\"id\":9}", repeated), ("{\"id\":1}", update)]);
        await using var source = await DebeziumSamples.SourceAsync(new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic], DeadLetterTopic = $"{topic}.dlq" });

        var records = await DebeziumSamples.DrainAsync(source, expected: 4);

        Assert.Equal(["7", "8", "9", "1"], records.Select(r => r.Key));
        Assert.Contains("not JSON", records[0].Reason);
        Assert.Contains("version", records[1].Reason);
        Assert.Contains("not JSON", records[2].Reason);
        Assert.NotNull(records[3].Change);
        var raw = JsonNode.Parse(records[0].Raw!)!;
        Assert.Equal((topic, 0, 0L, "not json at all"), ((string)raw["topic"]!, (int)raw["partition"]!, (long)raw["offset"]!, (string)raw["value"]!));

        await source.DisposeAsync();
        var copies = (await kafka.KcatAsync("", "-C", "-t", $"{topic}.dlq", "-J", "-e", "-q", "-o", "beginning")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(3, copies.Count);
        static Dictionary<string, string> HeadersOf(JsonNode copy) => copy["headers"]!.AsArray().Select(h => (string)h!).Chunk(2).ToDictionary(p => p[0], p => p[1]);
        // The dead-letter topic has partitions of its own: the copies are told apart by the offset they name.
        var first = copies.Single(c => HeadersOf(c)["__connect.errors.offset"] == "0");
        var headers = HeadersOf(first);
        Assert.Equal((topic, "0", "0"), (headers["__connect.errors.topic"], headers["__connect.errors.partition"], headers["__connect.errors.offset"]));
        Assert.Contains("not JSON", headers["__connect.errors.exception.message"]);
        Assert.Equal("not json at all", (string?)first["payload"]);
    }
}

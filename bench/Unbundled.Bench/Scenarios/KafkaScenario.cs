using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Kafka.Sink;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Connectors.Redis;
using Unbundled.Hosting;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// <c>kafka-consume</c>: a pipeline reading Debezium PostgreSQL change events from a topic into Redis,
/// events/s, against <c>kcat -C</c> reading the same topic to /dev/null. <c>kafka-publish</c>: the log
/// published to a topic by a pipeline, events/s, against a raw Confluent.Kafka producer (the sink's
/// settings) sending the very messages the pipeline wrote. Kafka is <c>UNBUNDLED_KAFKA</c> when set, else
/// librdkafka's mock cluster of three brokers in this process. Both print the peak RSS of the run.
/// </summary>
internal static class KafkaScenario
{
    // librdkafka's mock cluster keeps 5 MB of message sets per partition and drops older ones: 16 partitions of
    // lz4-compressed batches (as Kafka Connect producers commonly send them) hold the whole run.
    private const int Partitions = 16;

    public static async Task<BenchResult> ConsumeAsync(bool quick)
    {
        var events = quick ? 200_000 : 1_000_000;
        using var kafka = new LocalKafka();
        var topic = $"bench-{Guid.NewGuid():N}"[..16];
        await kafka.CreateTopicAsync(topic, Partitions);
        ProduceDebezium(kafka.Brokers, topic, events);

        var (kcat, broker) = (Stopwatch.StartNew(), Process.GetCurrentProcess().TotalProcessorTime);
        await RunKcatAsync($"-b {kafka.Brokers} -C -t {topic} -o beginning -c {events} -q");
        var baseline = events / kcat.Elapsed.TotalSeconds;
        broker = Process.GetCurrentProcess().TotalProcessorTime - broker;
        Console.WriteLine($"kcat -C: {events} messages to /dev/null in {kcat.Elapsed.TotalSeconds:0.00} s = {baseline:0} events/s; serving them cost the in-process broker {broker.TotalMicroseconds / events:0.0} µs of CPU per message");

        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var prefix = $"bench-{Guid.NewGuid():N}:";
        await using var cpu = await CpuPerRow.StartAsync(redis);
        var (rate, peak) = await RunPipelineAsync(events, (unbundled, at) => new PipelineDefinition("consume",
            new SourceDefinition("orders", unbundled.Connectors.Sources[KafkaSourceFactory.ConnectorName], new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [topic] }, at),
            null,
            new SelectProjection("order:{key}", [new SelectField("status", new PathValue("after.status")), new SelectField("total", new PathValue("after.total"))]),
            new SinkDefinition("cache", unbundled.Connectors.Sinks[RedisCacheSinkFactory.ConnectorName], new RedisCacheOptions { Prefix = prefix, Connection = redis }, at),
            ErrorPolicy.DeadLetter, new BatchOptions(1000), "bench", at));
        Console.WriteLine($"pipeline: {events} Debezium events from {Partitions} partitions into Redis at {rate:0} events/s; peak RSS {peak / (1024 * 1024)} MB");
        await cpu.ReportAsync(events);
        await RedisKeys.DeletePrefixAsync(redis, prefix);
        return new BenchResult("kafka-consume", rate, "events/s", baseline);
    }

    public static async Task<BenchResult> PublishAsync(bool quick)
    {
        var events = quick ? 200_000 : 1_000_000;
        using var kafka = new LocalKafka();
        var topic = $"bench-{Guid.NewGuid():N}"[..16];
        await kafka.CreateTopicAsync(topic, Partitions);
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var logFile = Path.Combine(directory.FullName, "log.db");
        try
        {
            await RedisReplayScenario.FillLogAsync(logFile, events);
            var (rate, peak) = await RunPipelineAsync(events, (unbundled, at) => new PipelineDefinition("publish",
                new SourceDefinition("log", unbundled.Connectors.Sources[Unbundled.Sources.CommandLog.CommandLogSourceFactory.ConnectorName], new Unbundled.Sources.CommandLog.CommandLogSourceOptions { Models = ["list"] }, at),
                null,
                new SelectProjection("{key}", [new SelectField("title", new PathValue("after.title")), new SelectField("n", new PathValue("after.n"))]),
                new SinkDefinition("topic", unbundled.Connectors.Sinks[KafkaSinkFactory.ConnectorName], new KafkaSinkOptions { Brokers = kafka.Brokers, Topic = topic }, at),
                ErrorPolicy.DeadLetter, new BatchOptions(1000), "bench", at), logFile);
            Console.WriteLine($"pipeline: {events} log events published at {rate:0} events/s; peak RSS {peak / (1024 * 1024)} MB");

            RequireRetained(kafka.Brokers, topic, events);
            var messages = ReadBack(kafka.Brokers, topic, events);
            var copy = $"{topic}-raw";
            await kafka.CreateTopicAsync(copy, Partitions);
            var baseline = ProduceRaw(kafka.Brokers, copy, messages);
            Console.WriteLine($"raw producer: the same {messages.Count} messages at {baseline:0} events/s");
            return new BenchResult("kafka-publish", rate, "events/s", baseline);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Runs the one pipeline <paramref name="define"/> makes until it acknowledged <paramref name="events"/>; its rate from the first batch on, and the peak RSS.</summary>
    private static async Task<(double Rate, long PeakRss)> RunPipelineAsync(int events, Func<UnbundledBuilder, SourceSpan, PipelineDefinition> define, string? logFile = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var directory = logFile is null ? Directory.CreateTempSubdirectory("unbundled-bench-") : null;
        var unbundled = builder.Services.AddUnbundled()
            .UseSqliteLog(options => options.Path = logFile ?? Path.Combine(directory!.FullName, "log.db"))
            .AddModelType("list");
        builder.Services.AddRedisCacheSink().AddKafka();
        var definition = define(unbundled, new SourceSpan("bench", 1, 1));
        unbundled.AddPipeline(definition);
        using var host = builder.Build();
        await host.StartAsync();
        host.Services.GetRequiredService<PipelineMonitor>().TryGet(definition.Name, out var progress);
        // Timed from the first batch on, as the baselines are from their first message.
        while (progress!.Offset == 0)
        {
            if (progress.State == PipelineState.Faulted) throw new InvalidOperationException($"the pipeline faulted: {progress.LastError}");
            await Task.Delay(1);
        }
        var (clock, from) = (Stopwatch.StartNew(), progress.Offset);
        long peak = 0;
        while (progress.Offset < events)
        {
            if (progress.State == PipelineState.Faulted) throw new InvalidOperationException($"the pipeline faulted: {progress.LastError}");
            peak = Math.Max(peak, Environment.WorkingSet);
            await Task.Delay(20);
        }
        var rate = (events - from) / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"pipeline: from offset {from} to {progress.Offset} in {clock.Elapsed.TotalSeconds:0.00} s");
        await host.StopAsync();
        directory?.Delete(recursive: true);
        return (rate, peak);
    }

    /// <summary>Debezium PostgreSQL envelopes without schema, as its connector writes them: a create, then updates, of 100,000 orders.</summary>
    private static void ProduceDebezium(string brokers, string topic, int events)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig { BootstrapServers = brokers, LingerMs = 5, EnableIdempotence = true, CompressionType = CompressionType.Lz4 }).Build();
        var clock = Stopwatch.StartNew();
        for (var e = 0; e < events; e++)
        {
            var id = e % 100_000;
            var op = e < 100_000 ? "c" : "u";
            var before = op == "c" ? "null" : $$"""{"id":{{id}},"status":"new","total":"{{id % 1000}}.00"}""";
            var value = $$"""{"before":{{before}},"after":{"id":{{id}},"status":"{{(op == "c" ? "new" : "paid")}}","total":"{{id % 1000}}.00"},"source":{"version":"2.7.0.Final","connector":"postgresql","name":"shop","ts_ms":1700000000000,"snapshot":"false","db":"shop","sequence":"[null,\"{{e}}\"]","schema":"public","table":"orders","txId":{{e}},"lsn":{{1000 + 8L * e}},"xmin":null},"op":"{{op}}","ts_ms":1700000000000,"transaction":null}""";
            Send(producer, topic, new Message<byte[], byte[]> { Key = Encoding.UTF8.GetBytes($$"""{"id":{{id}}}"""), Value = Encoding.UTF8.GetBytes(value) });
        }
        producer.Flush();
        RequireRetained(brokers, topic, events);
        Console.WriteLine($"{events} Debezium events produced in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>Fails unless <paramref name="topic"/> still holds all <paramref name="events"/> from offset 0 (a mock cluster drops the oldest past its limit).</summary>
    private static void RequireRetained(string brokers, string topic, int events)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = brokers, GroupId = "bench-watermarks" }).Build();
        var marks = Enumerable.Range(0, Partitions).Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10))).ToList();
        if (marks.Any(m => m.Low.Value > 0) || marks.Sum(m => m.High.Value) != events)
            throw new InvalidOperationException($"{topic} does not hold the {events} messages from offset 0: {string.Join(", ", marks.Select(m => $"{m.Low}..{m.High}"))}");
    }

    /// <summary>The messages of <paramref name="topic"/>, read back whole (not timed).</summary>
    private static List<Message<byte[], byte[]>> ReadBack(string brokers, string topic, int expected)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(new ConsumerConfig { BootstrapServers = brokers, GroupId = $"bench-{Guid.NewGuid():N}", AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false }).Build();
        consumer.Assign(Enumerable.Range(0, Partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var messages = new List<Message<byte[], byte[]>>(expected);
        var idle = Stopwatch.StartNew();
        while (idle.Elapsed < TimeSpan.FromSeconds(5))
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is not { } result) continue;
            messages.Add(result.Message);
            idle.Restart();
        }
        return messages;
    }

    /// <summary>Sends <paramref name="messages"/> with the kafka sink's producer settings; messages/s until all were acknowledged.</summary>
    private static double ProduceRaw(string brokers, string topic, List<Message<byte[], byte[]>> messages)
    {
        using var producer = new ProducerBuilder<byte[], byte[]>(new ProducerConfig
        {
            BootstrapServers = brokers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 1, CompressionType = CompressionType.Lz4,
        }).Build();
        var clock = Stopwatch.StartNew();
        foreach (var message in messages) Send(producer, topic, message);
        producer.Flush();
        return messages.Count / clock.Elapsed.TotalSeconds;
    }

    /// <summary>Queues <paramref name="message"/>, waiting for deliveries while librdkafka's queue is full.</summary>
    private static void Send(IProducer<byte[], byte[]> producer, string topic, Message<byte[], byte[]> message)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, message);
                return;
            }
            catch (ProduceException<byte[], byte[]> error) when (error.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>
    /// Runs kcat with its output to /dev/null itself: read through a pipe by this process, kcat ran at 164k-314k
    /// messages/s, paced by the reader, against 314k-464k to /dev/null. With <c>-c</c> it exits only once it has read
    /// that many messages, so a timeout means the topic did not hold them.
    /// </summary>
    private static async Task RunKcatAsync(string arguments)
    {
        var start = new ProcessStartInfo("/bin/sh", ["-c", $"exec kcat {arguments} > /dev/null"]) { RedirectStandardError = true };
        using var kcat = Process.Start(start) ?? throw new InvalidOperationException("kcat did not start (apt-get install kafkacat)");
        var errors = kcat.StandardError.ReadToEndAsync();
        try { await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2)); }
        catch (TimeoutException)
        {
            kcat.Kill();
            throw new InvalidOperationException($"kcat {arguments}: did not read its messages within 2 minutes: {await errors}");
        }
        if (kcat.ExitCode != 0) throw new InvalidOperationException($"kcat {arguments}: exit {kcat.ExitCode}: {await errors}");
    }
}

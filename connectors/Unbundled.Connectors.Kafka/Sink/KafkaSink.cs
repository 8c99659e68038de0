using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>
/// Writes a view's changes to Kafka topics as Debezium envelopes, through an idempotent producer. A batch
/// is acknowledged once the brokers confirmed every message of it; a batch written again after a crash
/// yields the same messages (same key, version and content), which a consumer deduplicating by version
/// (header <c>unbundled.version</c>) drops. No transactions: see docs/connectors.md.
/// </summary>
public sealed class KafkaSink : IPassThroughSink
{
    private readonly KafkaSinkOptions _options;
    private readonly SinkContext _context;
    private readonly ILogger<KafkaSink> _logger;
    private readonly EnvelopeMessage _messages;
    private IProducer<byte[], byte[]?>? _producer;

    /// <summary>Creates the sink of one pipeline.</summary>
    public KafkaSink(KafkaSinkOptions options, SinkContext context, ILogger<KafkaSink> logger)
    {
        (_options, _context, _logger) = (options, context, logger);
        _messages = new EnvelopeMessage(options, context.Pipeline);
    }

    /// <inheritdoc />
    public bool KeepsOffset => false;

    /// <inheritdoc />
    /// <remarks>A topic carries every change, not only those that altered a projected document.</remarks>
    public bool WantsEveryDocument => true;

    /// <inheritdoc />
    public bool WantsChanges => true;

    /// <inheritdoc />
    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        var config = new ProducerConfig(_options.ClientConfig([
            new("enable.idempotence", "true"),
            new("acks", "all"),
            // A batch waits for its deliveries before the next is produced: lingering past its last message only adds
            // latency per batch (1 ms published the log 25% faster than 5 ms in kafka-publish).
            new("linger.ms", "1"),
            new("compression.type", "lz4"),
            new("client.id", $"unbundled-{_context.Pipeline}"),
            // A delivery report is read for its error only: copying each message's key, value and headers back
            // into .NET for it cost the producer's poll thread a tenth of a core in kafka-publish.
            new("dotnet.producer.delivery.report.fields", "none"),
        ]).ToDictionary());
        _producer = new ProducerBuilder<byte[], byte[]?>(config)
            .SetLogHandler((_, message) => _logger.Log(message.LevelAs(LogLevel.Debug), "librdkafka {Facility}: {Message}", message.Facility, message.Message))
            .Build();
        // The brokers answer before the first batch, so an unreachable cluster is an outage the worker retries, not a batch error.
        using var admin = new DependentAdminClientBuilder(_producer.Handle).Build();
        try { admin.GetMetadata(TimeSpan.FromSeconds(10)); }
        catch (KafkaException error) { throw new SinkUnavailableException($"the Kafka brokers at {_options.Brokers} do not answer: {error.Error.Reason}", error); }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) => Task.FromResult(0L);

    /// <inheritdoc />
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var producer = _producer ?? throw new InvalidOperationException("the sink is not connected");
        var deliveries = new BatchDeliveries();
        var changes = new HashSet<long>();
        foreach (var document in batch.Documents)
        {
            // A change projected into several documents is one change on the topic.
            if (_options.Value == "change" && document.Change is not null && !changes.Add(document.Position)) continue;
            var topic = _messages.TopicOf(document);
            var key = _messages.Key(topic, _options.Value == "change" && document.Change is { } change ? change.Key : document.Key);
            var headers = new Headers
            {
                { "unbundled.position", Encoding.ASCII.GetBytes(document.Position.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
                { "unbundled.version", Encoding.ASCII.GetBytes(document.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)) },
            };
            if (document.Change?.TraceParent is { } trace) headers.Add("traceparent", Encoding.ASCII.GetBytes(trace));
            deliveries.Produce(producer, topic, new Message<byte[], byte[]?> { Key = key, Value = _messages.Value(topic, document), Headers = headers }, document);
            if (document.IsDelete && _options.Tombstones)
                deliveries.Produce(producer, topic, new Message<byte[], byte[]?> { Key = key, Value = null, Headers = headers }, document);
        }
        deliveries.Sent();
        await deliveries.Done.WaitAsync(cancellationToken).ConfigureAwait(false);
        List<SinkRejection>? rejected = null;
        Error? outage = null;
        foreach (var (document, error) in deliveries.Failed)
        {
            if (IsPermanent(error.Code)) (rejected ??= []).Add(new SinkRejection(document, $"Kafka refused the message for good: {error.Reason}"));
            else outage ??= error;
        }
        // The whole batch is written again; what did land comes twice with the same version, which consumers drop.
        if (outage is not null) throw new SinkUnavailableException($"Kafka did not take the batch: {outage.Reason}");
        return rejected is null ? SinkBatchResult.Success : new SinkBatchResult(rejected);
    }

    /// <summary>Refusals that sending again cannot change: the message itself is wrong for the topic.</summary>
    private static bool IsPermanent(ErrorCode code) => code is ErrorCode.MsgSizeTooLarge or ErrorCode.InvalidMsg
        or ErrorCode.InvalidMsgSize or ErrorCode.TopicException or ErrorCode.Local_InvalidArg or ErrorCode.RecordListTooLarge;

    /// <inheritdoc />
    /// <remarks>A topic is no keyed store: documents cannot be read back from it.</remarks>
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) => Task.FromResult<JsonObject?>(null);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        if (_producer is { } producer)
        {
            producer.Flush(TimeSpan.FromSeconds(10));
            producer.Dispose();
            _producer = null;
        }
        return ValueTask.CompletedTask;
    }
}

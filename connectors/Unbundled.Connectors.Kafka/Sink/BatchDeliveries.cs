using System.Collections.Concurrent;
using Confluent.Kafka;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Kafka.Sink;

/// <summary>
/// The deliveries of one batch: done once librdkafka reported on every message queued, keeping which
/// documents failed and why. One counter per batch rather than a task per message, whose completions and
/// awaits cost more than producing the message.
/// </summary>
internal sealed class BatchDeliveries
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<(SinkDocument Document, Error Error)> _failed = new();
    // One count is the sender's own, given back by Sent(): the batch cannot finish while messages are still being queued.
    private int _pending = 1;

    /// <summary>Completes when every message queued was reported on.</summary>
    public Task Done => _done.Task;

    /// <summary>The documents whose message failed, with librdkafka's error.</summary>
    public IReadOnlyCollection<(SinkDocument Document, Error Error)> Failed => _failed;

    /// <summary>Queues one message of <paramref name="document"/>.</summary>
    public void Produce(IProducer<byte[], byte[]?> producer, string topic, Message<byte[], byte[]?> message, SinkDocument document)
    {
        Interlocked.Increment(ref _pending);
        try
        {
            producer.Produce(topic, message, report =>
            {
                if (report.Error.IsError) _failed.Enqueue((document, report.Error));
                Reported();
            });
        }
        catch (ProduceException<byte[], byte[]?> error)
        {
            _failed.Enqueue((document, error.Error));
            Reported();
        }
    }

    /// <summary>Says every message of the batch is queued.</summary>
    public void Sent() => Reported();

    private void Reported()
    {
        if (Interlocked.Decrement(ref _pending) == 0) _done.TrySetResult();
    }
}

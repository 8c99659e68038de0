using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>
/// A consumer group member on a thread of its own: it polls, hands messages over through a channel
/// (pausing its partitions while the channel is full, so that rebalances are still served), and keeps
/// which partitions are this member's. Each assignment of a partition is an epoch: a message fetched
/// under an earlier one is stale (the partition moved away meanwhile) and is dropped when read.
/// Offsets are stored only as acknowledged and committed by librdkafka (every second, on rebalance, on close).
/// Messages are read (parsed) on that thread too, so that parsing runs beside the pipeline's own work.
/// </summary>
internal sealed class GroupConsumer : IAsyncDisposable
{
    // Read messages weigh more than raw ones: 20,000 of them outlived gen0 and drove gen2 collections (4 s of pauses in a
    // kafka-consume run), while librdkafka goes on prefetching raw messages into its own queue.
    private const int FullAt = 4_000, ResumeAt = 1_000;

    /// <summary>How long a full buffer may wait for the reader before the partitions are paused.</summary>
    private static readonly TimeSpan PatienceBeforePause = TimeSpan.FromSeconds(1);

    private readonly IConsumer<byte[], byte[]> _consumer;
    private readonly ILogger _logger;
    private readonly Func<ConsumeResult<byte[], byte[]>, ReadMessage> _read;
    private readonly Channel<Fetched> _fetched = Channel.CreateUnbounded<Fetched>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly Dictionary<TopicPartition, int> _epochs = [];
    private readonly TaskCompletionSource _assigned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly ManualResetEventSlim _room = new(initialState: true);
    private readonly Lock _gate = new();
    private int _buffered, _nextEpoch;
    private bool _paused;
    private Task? _pump;
    // Calls on the consumer from threads other than the pump's (head reads, offset queries, stores) hold this for reading
    // and disposal holds it for writing, so the native handle is never closed under a call in flight: librdkafka aborted
    // the whole process on that (an rd_kafka_q_destroy0 assertion) under a burst of rebuilds. Never disposed: a call
    // may still be entering it after the consumer is gone, and must then find it closed, not disposed.
    private readonly ReaderWriterLockSlim _use = new();
    private bool _closed;

    /// <summary>A message, what it read as, and the epoch of its partition's assignment when it was fetched.</summary>
    public readonly record struct Fetched(ConsumeResult<byte[], byte[]> Message, ReadMessage Read, int Epoch);

    /// <summary>Creates a member of <paramref name="group"/> whose messages <paramref name="read"/> turns into changes.</summary>
    public GroupConsumer(KafkaSourceOptions options, string group, string clientId, Func<ConsumeResult<byte[], byte[]>, ReadMessage> read, ILogger logger)
    {
        (_logger, _read) = (logger, read);
        var config = new ConsumerConfig(options.ClientConfig([
            new("group.id", group),
            new("client.id", clientId),
            new("auto.offset.reset", options.Start),
            new("enable.auto.commit", "true"),
            // Only what the pipeline acknowledged is stored, so only that is ever committed.
            new("enable.auto.offset.store", "false"),
            new("auto.commit.interval.ms", "1000"),
            new("enable.partition.eof", "false"),
            new("topic.metadata.refresh.interval.ms", "10000"),
            // A dead instance's partitions move after this long without heartbeats; librdkafka's 45 s would stall
            // them that long (Kafka Connect's workers use 10 s too). Properties may say otherwise.
            new("session.timeout.ms", "10000"),
            new("heartbeat.interval.ms", "3000"),
        ]).ToDictionary());
        _consumer = new ConsumerBuilder<byte[], byte[]>(config)
            .SetPartitionsAssignedHandler((_, partitions) => Assigned(partitions))
            .SetPartitionsRevokedHandler((_, partitions) => Revoked(partitions.Select(p => p.TopicPartition), "revoked"))
            .SetPartitionsLostHandler((_, partitions) => Revoked(partitions.Select(p => p.TopicPartition), "lost"))
            .SetLogHandler((_, message) => _logger.Log(message.LevelAs(LogLevel.Debug), "librdkafka {Facility}: {Message}", message.Facility, message.Message))
            .SetErrorHandler((_, error) => _logger.Log(error.IsFatal ? LogLevel.Error : LogLevel.Debug, "Kafka consumer: {Reason}", error.Reason))
            .Build();
        Group = group;
    }

    /// <summary>The consumer group.</summary>
    public string Group { get; }

    /// <summary>Runs an offset or watermark query on the consumer (librdkafka's are thread-safe); ObjectDisposedException once it is disposed.</summary>
    public T Use<T>(Func<IConsumer<byte[], byte[]>, T> call)
    {
        _use.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            return call(_consumer);
        }
        finally
        {
            _use.ExitReadLock();
        }
    }

    private void Use(Action<IConsumer<byte[], byte[]>> call) => Use(consumer =>
    {
        call(consumer);
        return true;
    });

    /// <summary>Raised under the consumer's thread when partitions are assigned, with their epochs.</summary>
    public event Action<IReadOnlyDictionary<TopicPartition, int>>? PartitionsAssigned;

    /// <summary>Raised under the consumer's thread when partitions are taken away; stored offsets were committed first unless they were lost.</summary>
    public event Action<IReadOnlyList<TopicPartition>>? PartitionsRevoked;

    /// <summary>Subscribes, starts polling, and waits until the group has given this member its first assignment (maybe empty).</summary>
    public async Task StartAsync(IReadOnlyList<string> topics, string? pattern, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (pattern is not null) _consumer.Subscribe("^" + pattern.TrimStart('^'));
        else _consumer.Subscribe(topics);
        _pump = Task.Factory.StartNew(Pump, TaskCreationOptions.LongRunning);
        try { await _assigned.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException)
        {
            throw new InvalidOperationException($"the consumer group '{Group}' gave this member no partitions within {timeout.TotalSeconds:0} s: are the brokers reachable and the topics there?");
        }
    }

    /// <summary>Takes what was fetched, oldest first.</summary>
    public bool TryTake(out Fetched fetched)
    {
        if (!_fetched.Reader.TryRead(out fetched)) return false;
        if (Interlocked.Decrement(ref _buffered) < FullAt && !_room.IsSet) _room.Set();
        return true;
    }

    /// <summary>True when fetched messages wait to be taken.</summary>
    public bool HasFetched => Volatile.Read(ref _buffered) > 0;

    /// <summary>Completes when a message was fetched.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _fetched.Reader.WaitToReadAsync(cancellationToken).AsTask();

    /// <summary>The epoch of <paramref name="partition"/>'s assignment, or null when it is not this member's.</summary>
    public int? EpochOf(TopicPartition partition)
    {
        lock (_gate) return _epochs.TryGetValue(partition, out var epoch) ? epoch : null;
    }

    /// <summary>Marks <paramref name="offsets"/> (the next offset to read, per partition) for the next commit; partitions this member lost since are passed over.</summary>
    public void Store(IEnumerable<(TopicPartition Partition, int Epoch, long Next)> offsets) => Use(consumer =>
    {
        foreach (var (partition, epoch, next) in offsets)
        {
            if (EpochOf(partition) != epoch) continue;
            try { consumer.StoreOffset(new TopicPartitionOffset(partition, next)); }
            catch (KafkaException error) when (error.Error.Code == ErrorCode.Local_State)
            {
                // Revoked between the check and the store: the new owner reads it again from the last commit.
            }
        }
    });

    private void Pump()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                Backpressure(token);
                var message = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (message?.Message is null) continue;
                var read = Read(message);
                int epoch;
                lock (_gate) epoch = _epochs.TryGetValue(message.TopicPartition, out var current) ? current : -1;
                Interlocked.Increment(ref _buffered);
                _fetched.Writer.TryWrite(new Fetched(message, read, epoch));
            }
            catch (ConsumeException error)
            {
                _logger.LogWarning("Kafka consumer of group {Group}: {Reason}", Group, error.Error.Reason);
            }
            catch (KafkaException error) when (!error.Error.IsFatal)
            {
                _logger.LogWarning("Kafka consumer of group {Group}: {Reason}", Group, error.Error.Reason);
            }
            catch (Exception error) when (error is ObjectDisposedException or OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Reads <paramref name="message"/>; a reader's failure makes it unreadable, a dead letter, rather than end the pump.</summary>
    private ReadMessage Read(ConsumeResult<byte[], byte[]> message)
    {
        try { return _read(message); }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            return new ReadMessage(null, $"reading the message failed: {error.Message}");
        }
    }

    /// <summary>
    /// Above the mark the pump waits for the reader, while librdkafka goes on prefetching into its own bounded queue.
    /// Pausing purges that queue and fetches it again on resume, which held a backlog to a third of its pace, so it
    /// is kept for a reader stalled longer than <see cref="PatienceBeforePause"/> (a sink down): then polling goes on
    /// so that the group's rebalances are still served.
    /// </summary>
    private void Backpressure(CancellationToken token)
    {
        if (_paused)
        {
            if (Volatile.Read(ref _buffered) > ResumeAt) return;
            _consumer.Resume(_consumer.Assignment);
            _paused = false;
            return;
        }
        if (Volatile.Read(ref _buffered) < FullAt) return;
        _room.Reset();
        // Checked again after the reset: the reader may have made room in between, and set the event before it.
        if (Volatile.Read(ref _buffered) < FullAt) return;
        try
        {
            if (_room.Wait(PatienceBeforePause, token)) return;
        }
        catch (OperationCanceledException)
        {
            return;
        }
        _consumer.Pause(_consumer.Assignment);
        _paused = true;
    }

    private void Assigned(List<TopicPartition> partitions)
    {
        var assigned = new Dictionary<TopicPartition, int>();
        lock (_gate)
        {
            foreach (var partition in partitions) _epochs[partition] = assigned[partition] = ++_nextEpoch;
        }
        _logger.LogInformation("Kafka group {Group}: this member reads {Partitions}", Group, partitions.Count == 0 ? "no partitions" : string.Join(", ", partitions));
        PartitionsAssigned?.Invoke(assigned);
        if (_paused) _consumer.Pause(partitions);
        _assigned.TrySetResult();
    }

    private void Revoked(IEnumerable<TopicPartition> partitions, string how)
    {
        var revoked = partitions.ToList();
        lock (_gate)
        {
            foreach (var partition in revoked) _epochs.Remove(partition);
        }
        _logger.LogInformation("Kafka group {Group}: partitions {Partitions} {How}; their unacknowledged messages are left to the next owner", Group, string.Join(", ", revoked), how);
        PartitionsRevoked?.Invoke(revoked);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        if (_pump is not null) await _pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _use.EnterWriteLock();
        try
        {
            _closed = true;
            // Leaving the group commits what was stored and hands the partitions over at once rather than after a session timeout.
            if (_pump is not null) _consumer.Close();
        }
        catch (KafkaException error)
        {
            _logger.LogWarning("Kafka group {Group}: leaving it failed: {Reason}", Group, error.Error.Reason);
        }
        finally
        {
            _consumer.Dispose();
            _use.ExitWriteLock();
        }
        _stop.Dispose();
        _room.Dispose();
    }
}

using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Unbundled.Sdk;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>
/// Reads Kafka topics through a consumer group per pipeline and generation, so that several server
/// instances share the partitions and a rebuild reads the topics again from the start. The group's
/// committed offsets are the source's cursor: offsets are committed only once the pipeline acknowledged.
/// The offsets it yields are the sum over its partitions of the next Kafka offset to read (exactly the
/// messages read when one member reads every partition; kept growing across rebalances otherwise), so
/// that lag is the messages behind. What was handed out and not acknowledged is kept for a re-read;
/// a revoked partition's share of it is abandoned to the new owner.
/// </summary>
public sealed class KafkaSource : ISourceConnector, IGenerationalSource, IDescribedSource
{
    private readonly KafkaSourceOptions _options;
    private readonly SourceContext _context;
    private readonly ILogger<KafkaSource> _logger;
    private readonly KafkaReaders _readers;
    private readonly EnvelopeReader _reader;
    private readonly Lock _gate = new();
    private readonly Dictionary<TopicPartition, Progress> _partitions = [];
    private readonly List<Handed> _handed = [];
    private GroupConsumer? _group;
    private DeadLetterTopic? _deadLetters;
    private long _issued, _sum;

    /// <summary>A partition of this member: its assignment epoch and the next Kafka offset to read (-1: not known yet).</summary>
    private sealed class Progress(int epoch)
    {
        public int Epoch { get; } = epoch;
        public long Next { get; set; } = -1;

        /// <summary>The partition's end as the last head read saw it.</summary>
        public long High { get; set; }
    }

    /// <summary>A message handed to the pipeline and not yet acknowledged; <paramref name="Record"/> is null for one that carried no change.</summary>
    private readonly record struct Handed(long Offset, TopicPartition Partition, int Epoch, long Next, SourceRecord? Record);

    /// <summary>Creates a reader of the source for one pipeline.</summary>
    internal KafkaSource(KafkaSourceOptions options, SourceContext context, KafkaReaders readers, ILogger<KafkaSource> logger)
    {
        (_options, _context, _readers, _logger) = (options, context, readers, logger);
        _reader = new EnvelopeReader(options, context.Source);
        Group = options.Group ?? $"unbundled.{context.Pipeline}.g{context.Generation}" + (context.Instance is { } instance ? $".{instance}" : "");
    }

    /// <summary>The consumer group this reader belongs to.</summary>
    public string Group { get; }

    /// <inheritdoc />
    public bool KeepsPosition => true;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        // A lookup beside the pipeline must not join its group: it would take partitions from the members.
        if (_context.Lookup || _group is not null) return;
        var group = new GroupConsumer(_options, Group, $"unbundled-{_context.Pipeline}-{Environment.MachineName}-{Environment.ProcessId}",
            message => _reader.Read(message.Topic, message.Message.Key, message.Message.Value, TimestampOf(message.Message)), _logger);
        group.PartitionsAssigned += Assigned;
        group.PartitionsRevoked += Revoked;
        try { await group.StartAsync(_options.Topics, _options.TopicPattern, TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false); }
        catch
        {
            await group.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        _group = group;
        _readers.Reads(_context.Pipeline, this);
        if (_options.DeadLetterTopic is { } topic) _deadLetters = new DeadLetterTopic(_options, topic, _context.Pipeline, _logger);
        await Task.Run(ResolveStarts, cancellationToken).ConfigureAwait(false);
        lock (_gate) _issued = Math.Max(_issued, _sum);
    }

    private GroupConsumer Consumer => _group ?? throw new ConnectorRefusedException(_context.Lookup
        ? "a kafka source is read through its pipeline's consumer group only: it cannot replay history beside it"
        : "the kafka source is not connected");

    /// <inheritdoc />
    public async Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
    {
        var group = Consumer;
        lock (_gate)
        {
            if (afterOffset < _issued) return ReadAgain(afterOffset, maxCount);
            // Another instance of the pipeline may have stored a higher number: this reader goes on from there.
            _issued = afterOffset;
        }
        // Messages a head read saw are at hand, even when the fetch that brings them is still on its way.
        if (!group.HasFetched && Behind()) await group.WaitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        var records = new List<SourceRecord>(Math.Min(maxCount, 1024));
        DateTimeOffset? committedAt = null;
        while (records.Count < maxCount && group.TryTake(out var fetched))
        {
            var message = fetched.Message;
            long offset;
            lock (_gate)
            {
                if (!_partitions.TryGetValue(message.TopicPartition, out var progress) || progress.Epoch != fetched.Epoch) continue;
                var next = message.Offset.Value + 1;
                _sum += next - Math.Max(progress.Next, 0);
                progress.Next = next;
                offset = _issued = Math.Max(_issued + 1, _sum);
            }
            var read = fetched.Read;
            SourceRecord? record = null;
            // A producer's trace (W3C traceparent, as our kafka sink and OpenTelemetry's Kafka instrumentation write it)
            // continues through the derivations of the change.
            if (read.Change is { } change)
                record = SourceRecord.Of(change with { Source = change.Source with { Position = offset }, TraceParent = TraceParentOf(message.Message.Headers) ?? change.TraceParent });
            else if (read.Problem is { } problem)
            {
                record = SourceRecord.Unreadable(offset, EnvelopeReader.KeyOf(message.Message.Key), RawOf(message), problem);
                _deadLetters?.Send(message, problem);
            }
            if (record is not null) records.Add(record);
            committedAt = TimestampOf(message.Message);
            lock (_gate) _handed.Add(new Handed(offset, message.TopicPartition, fetched.Epoch, message.Offset.Value + 1, record));
        }
        long reached;
        lock (_gate) reached = _issued;
        return new SourceBatch(records, reached, committedAt) { MoreAvailable = group.HasFetched };
    }

    /// <summary>True when a partition holds messages this member has not read, as its last head read saw them.</summary>
    private bool Behind()
    {
        lock (_gate) return _partitions.Values.Any(p => p.Next >= 0 && p.Next < p.High);
    }

    /// <summary>A re-read of what was handed out and not acknowledged (the engine writing a batch again).</summary>
    private SourceBatch ReadAgain(long afterOffset, int maxCount)
    {
        var first = _handed.FindIndex(h => h.Offset > afterOffset);
        if (first < 0) return new SourceBatch([], _issued) { MoreAvailable = Consumer.HasFetched };
        if (first == 0 && _handed[0].Offset > afterOffset + 1 && afterOffset < AcknowledgedUpTo)
            throw new InvalidOperationException($"offset {afterOffset} was acknowledged: a consumer group reads on from its committed offsets and cannot go back before them");
        var records = new List<SourceRecord>();
        var reached = afterOffset;
        for (var i = first; i < _handed.Count && records.Count < maxCount; i++)
        {
            if (_handed[i].Record is { } record) records.Add(record);
            reached = _handed[i].Offset;
        }
        return new SourceBatch(records, reached) { MoreAvailable = reached < _issued || Consumer.HasFetched };
    }

    private long AcknowledgedUpTo { get; set; }

    /// <inheritdoc />
    public Task WaitAsync(long afterOffset, CancellationToken cancellationToken)
    {
        var group = Consumer;
        lock (_gate)
        {
            if (afterOffset < _issued && _handed.Count > 0 && _handed[^1].Offset > afterOffset) return Task.CompletedTask;
        }
        return group.HasFetched ? Task.CompletedTask : group.WaitAsync(cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>This member's offset plus the messages its partitions hold past what it read.</remarks>
    public async Task<long> ReadHeadAsync(CancellationToken cancellationToken)
    {
        if (PipelineReader is { } reader) return await reader.ReadHeadAsync(cancellationToken).ConfigureAwait(false);
        if (_group is null) return 0;
        var group = _group;
        // librdkafka's queries block: one trip to the thread pool for all of them.
        return await Task.Run(() =>
        {
            ResolveStarts();
            List<(TopicPartition Partition, Progress Progress)> partitions;
            lock (_gate) partitions = _partitions.Select(p => (p.Key, p.Value)).ToList();
            var highs = partitions.Select(p => group.Use(consumer => consumer.QueryWatermarkOffsets(p.Partition, TimeSpan.FromSeconds(5))).High.Value).ToList();
            lock (_gate)
            {
                for (var i = 0; i < partitions.Count; i++) partitions[i].Progress.High = highs[i];
                return _issued + _partitions.Values.Sum(p => Math.Max(0, p.High - Math.Max(p.Next, 0)));
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken)
    {
        if (_group is not { } group) return ValueTask.CompletedTask;
        var done = new Dictionary<TopicPartition, (int Epoch, long Next)>();
        lock (_gate)
        {
            var count = 0;
            while (count < _handed.Count && _handed[count].Offset <= offset)
            {
                var handed = _handed[count++];
                done[handed.Partition] = (handed.Epoch, handed.Next);
            }
            _handed.RemoveRange(0, count);
            AcknowledgedUpTo = Math.Max(AcknowledgedUpTo, offset);
        }
        group.Store(done.Select(d => (d.Key, d.Value.Epoch, d.Value.Next)));
        return ValueTask.CompletedTask;
    }

    private void Assigned(IReadOnlyDictionary<TopicPartition, int> partitions)
    {
        lock (_gate)
        {
            foreach (var (partition, epoch) in partitions)
            {
                if (_partitions.Remove(partition, out var old)) _sum -= Math.Max(old.Next, 0);
                _partitions[partition] = new Progress(epoch);
            }
        }
    }

    private void Revoked(IReadOnlyList<TopicPartition> partitions)
    {
        lock (_gate)
        {
            foreach (var partition in partitions)
            {
                if (_partitions.Remove(partition, out var old)) _sum -= Math.Max(old.Next, 0);
            }
            // What this member read of them and was not acknowledged is the new owner's to read again.
            _handed.RemoveAll(h => partitions.Contains(h.Partition));
        }
    }

    /// <summary>Where each newly assigned partition starts: the group's committed offset, else the earliest or latest one.</summary>
    private void ResolveStarts()
    {
        List<TopicPartition> unknown;
        lock (_gate) unknown = _partitions.Where(p => p.Value.Next < 0).Select(p => p.Key).ToList();
        if (unknown.Count == 0 || _group is not { } group) return;
        foreach (var committed in group.Use(consumer => consumer.Committed(unknown, TimeSpan.FromSeconds(10))))
        {
            var start = _options.StartOf(committed.Offset, () => group.Use(consumer => consumer.QueryWatermarkOffsets(committed.TopicPartition, TimeSpan.FromSeconds(5))));
            lock (_gate)
            {
                if (!_partitions.TryGetValue(committed.TopicPartition, out var progress) || progress.Next >= 0) continue;
                progress.Next = start;
                _sum += start;
            }
        }
    }

    /// <summary>When the message was produced, by its timestamp; now when it carries none.</summary>
    private static DateTimeOffset TimestampOf(Message<byte[], byte[]> message) =>
        message.Timestamp.UnixTimestampMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(message.Timestamp.UnixTimestampMs) : DateTimeOffset.UtcNow;

    /// <summary>The record's <c>traceparent</c> header, when it has a well-formed one.</summary>
    private static string? TraceParentOf(Headers? headers)
    {
        if (headers is null || !headers.TryGetLastBytes("traceparent", out var bytes) || bytes.Length is 0 or > 128) return null;
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        return System.Diagnostics.ActivityContext.TryParse(text, null, out _) ? text : null;
    }

    /// <summary>What the dead-letter store keeps of an unreadable message: where it was, its key and its raw value.</summary>
    private static string RawOf(ConsumeResult<byte[], byte[]> message) => System.Text.Json.JsonSerializer.Serialize(new
    {
        topic = message.Topic,
        partition = message.Partition.Value,
        offset = message.Offset.Value,
        key = message.Message.Key is null ? null : Encoding.UTF8.GetString(message.Message.Key),
        value = message.Message.Value is null ? null : Encoding.UTF8.GetString(message.Message.Value),
    });

    /// <inheritdoc />
    /// <remarks>The group's committed offset and lag per partition, as any member or a lookup sees them.</remarks>
    public Task<IReadOnlyDictionary<string, string>> DescribeAsync(CancellationToken cancellationToken) =>
        PipelineReader is { } reader ? reader.DescribeAsync(cancellationToken) : Task.Run(() => GroupLag.Describe(_options, Group), cancellationToken);

    /// <summary>For a lookup, the pipeline's own reader in this process, which knows its generation's (or instance's) group.</summary>
    private KafkaSource? PipelineReader => _context.Lookup && _readers.ReaderOf(_context.Pipeline) is { } reader && reader != this ? reader : null;

    /// <inheritdoc />
    /// <remarks>Deletes the retired generation's consumer group, whose committed offsets nothing reads again.</remarks>
    public async Task DropAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync().ConfigureAwait(false);
        using var admin = new AdminClientBuilder(new AdminClientConfig(_options.ClientConfig([]).ToDictionary())).Build();
        try { await admin.DeleteGroupsAsync([Group]).WaitAsync(cancellationToken).ConfigureAwait(false); }
        catch (KafkaException error)
        {
            _logger.LogWarning("Pipeline {Pipeline}: the retired consumer group {Group} could not be deleted: {Reason}", _context.Pipeline, Group, error.Message);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _readers.Stops(_context.Pipeline, this);
        _deadLetters?.Dispose();
        _deadLetters = null;
        if (_group is { } group) await group.DisposeAsync().ConfigureAwait(false);
    }
}

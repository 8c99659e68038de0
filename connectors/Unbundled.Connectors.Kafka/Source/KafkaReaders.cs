namespace Unbundled.Connectors.Kafka.Source;

/// <summary>
/// The pipelines' own kafka readers in this process, so that a lookup beside one (status) describes the group
/// and the head the pipeline really reads: a generation past 0, or an instance's own group, is known only to it.
/// </summary>
internal sealed class KafkaReaders
{
    private readonly Dictionary<string, List<KafkaSource>> _readers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Records that <paramref name="source"/> reads for <paramref name="pipeline"/>.</summary>
    public void Reads(string pipeline, KafkaSource source)
    {
        lock (_gate)
        {
            if (!_readers.TryGetValue(pipeline, out var readers)) _readers[pipeline] = readers = [];
            readers.Add(source);
        }
    }

    /// <summary>Forgets <paramref name="source"/>.</summary>
    public void Stops(string pipeline, KafkaSource source)
    {
        lock (_gate)
        {
            if (_readers.TryGetValue(pipeline, out var readers) && readers.Remove(source) && readers.Count == 0) _readers.Remove(pipeline);
        }
    }

    /// <summary>The pipeline's oldest reader: the live generation's while a rebuild's reads beside it; null when none runs here.</summary>
    public KafkaSource? ReaderOf(string pipeline)
    {
        lock (_gate) return _readers.TryGetValue(pipeline, out var readers) ? readers[0] : null;
    }
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Unbundled.Pipelines.Observability;

/// <summary>
/// Every pipeline's progress in one place, published as System.Diagnostics.Metrics instruments on the
/// meter <c>Unbundled.Pipelines</c>, each measurement tagged with the pipeline, its source and its sink
/// (names and connectors), so dashboards can group by any of them.
/// </summary>
public sealed class PipelineMonitor : IDisposable
{
    /// <summary>The meter's name, for OpenTelemetry or dotnet-counters.</summary>
    public const string MeterName = "Unbundled.Pipelines";

    private readonly ConcurrentDictionary<string, PipelineProgress> _pipelines = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, KeyValuePair<string, object?>[]> _tags = new(StringComparer.Ordinal);
    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _repairs;
    private readonly Counter<long> _batches;
    private readonly Histogram<double> _batchDuration;

    /// <summary>Creates the monitor and its instruments.</summary>
    public PipelineMonitor(IMeterFactory? meters = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _events = _meter.CreateCounter<long>("unbundled.pipeline.events", "{event}", "Change events processed.");
        _errors = _meter.CreateCounter<long>("unbundled.pipeline.errors", "{error}", "Failed sink writes and other errors.");
        _deadLetters = _meter.CreateCounter<long>("unbundled.pipeline.dead_letters", "{event}", "Events sent to the dead-letter store.");
        _repairs = _meter.CreateCounter<long>("unbundled.pipeline.repairs", "{repair}", "Times a view's store was found to have lost data and was replayed.");
        _batches = _meter.CreateCounter<long>("unbundled.pipeline.batches", "{batch}", "Batches written to the sink.");
        _batchDuration = _meter.CreateHistogram<double>("unbundled.pipeline.batch.duration", "s", "Time to write one batch to the sink and move the offset, retries included.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _meter.CreateObservableGauge("unbundled.pipeline.lag", () => Measure(p => p.LagEvents), "{event}", "Source offsets not yet in the view (for a consumer group, its lag).");
        _meter.CreateObservableGauge("unbundled.pipeline.lag.seconds", () => Measure(p => p.LagSeconds), "s", "How old the oldest change not yet in the view is.");
        _meter.CreateObservableGauge("unbundled.pipeline.offset", () => Measure(p => p.Offset), "{position}", "The last log position the view holds.");
        _meter.CreateObservableGauge("unbundled.pipeline.rebuild.lag", () => _pipelines.Values.Where(p => p.RebuildGeneration is not null)
            .Select(p => new Measurement<long>(Math.Max(0, p.Head - p.RebuildOffset), TagsOf(p.Pipeline))), "{event}", "Source offsets a rebuild still has to read before it can take over.");
    }

    /// <summary>All pipelines, by name.</summary>
    public IReadOnlyCollection<PipelineProgress> Pipelines => _pipelines.Values.OrderBy(p => p.Pipeline, StringComparer.Ordinal).ToList();

    /// <summary>One pipeline's progress, if it exists.</summary>
    public bool TryGet(string pipeline, out PipelineProgress progress) => _pipelines.TryGetValue(pipeline, out progress!);

    /// <summary>The progress a pipeline's worker reports into.</summary>
    public PipelineProgress Register(string pipeline) => _pipelines.GetOrAdd(pipeline, name => new PipelineProgress(name));

    /// <summary>The progress of a pipeline that reads <paramref name="source"/> and writes <paramref name="sink"/> (name and connector of each), which tag its measurements.</summary>
    public PipelineProgress Register(string pipeline, (string Name, string Connector) source, (string Name, string Connector) sink)
    {
        _tags[pipeline] =
        [
            new("pipeline", pipeline), new("source", source.Name), new("source.connector", source.Connector),
            new("sink", sink.Name), new("sink.connector", sink.Connector),
        ];
        return Register(pipeline);
    }

    internal void CountEvents(string pipeline, int count) => _events.Add(count, TagsOf(pipeline));

    internal void CountError(string pipeline) => _errors.Add(1, TagsOf(pipeline));

    internal void CountRepair(string pipeline) => _repairs.Add(1, TagsOf(pipeline));

    internal void CountDeadLetters(string pipeline, int count) => _deadLetters.Add(count, TagsOf(pipeline));

    internal void CountBatch(string pipeline, TimeSpan took)
    {
        var tags = TagsOf(pipeline);
        _batches.Add(1, tags);
        _batchDuration.Record(took.TotalSeconds, tags);
    }

    private ReadOnlySpan<KeyValuePair<string, object?>> TagsOf(string pipeline) =>
        _tags.TryGetValue(pipeline, out var tags) ? tags : [new("pipeline", pipeline)];

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<T>> Measure<T>(Func<PipelineProgress, T> value) where T : struct =>
        _pipelines.Values.Select(p => new Measurement<T>(value(p), TagsOf(p.Pipeline)));
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Unbundled.Pipelines.Observability;

/// <summary>
/// Every pipeline's progress in one place, published as System.Diagnostics.Metrics instruments on the
/// meter <c>Unbundled.Pipelines</c>.
/// </summary>
public sealed class PipelineMonitor : IDisposable
{
    /// <summary>The meter's name, for OpenTelemetry or dotnet-counters.</summary>
    public const string MeterName = "Unbundled.Pipelines";

    private readonly ConcurrentDictionary<string, PipelineProgress> _pipelines = new(StringComparer.Ordinal);
    private readonly Meter _meter;
    private readonly Counter<long> _events;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _deadLetters;
    private readonly Counter<long> _repairs;

    /// <summary>Creates the monitor and its instruments.</summary>
    public PipelineMonitor(IMeterFactory? meters = null)
    {
        _meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _events = _meter.CreateCounter<long>("unbundled.pipeline.events", "{event}", "Change events processed.");
        _errors = _meter.CreateCounter<long>("unbundled.pipeline.errors", "{error}", "Failed sink writes and other errors.");
        _deadLetters = _meter.CreateCounter<long>("unbundled.pipeline.dead_letters", "{event}", "Events sent to the dead-letter store.");
        _repairs = _meter.CreateCounter<long>("unbundled.pipeline.repairs", "{repair}", "Times a view's store was found to have lost data and was replayed.");
        _meter.CreateObservableGauge("unbundled.pipeline.lag", () => Measure(p => p.LagEvents), "{event}", "Log entries not yet in the view.");
        _meter.CreateObservableGauge("unbundled.pipeline.offset", () => Measure(p => p.Offset), "{position}", "The last log position the view holds.");
    }

    /// <summary>All pipelines, by name.</summary>
    public IReadOnlyCollection<PipelineProgress> Pipelines => _pipelines.Values.OrderBy(p => p.Pipeline, StringComparer.Ordinal).ToList();

    /// <summary>One pipeline's progress, if it exists.</summary>
    public bool TryGet(string pipeline, out PipelineProgress progress) => _pipelines.TryGetValue(pipeline, out progress!);

    /// <summary>The progress a pipeline's worker reports into.</summary>
    public PipelineProgress Register(string pipeline) => _pipelines.GetOrAdd(pipeline, name => new PipelineProgress(name));

    internal void CountEvents(string pipeline, int count) => _events.Add(count, new KeyValuePair<string, object?>("pipeline", pipeline));

    internal void CountError(string pipeline) => _errors.Add(1, new KeyValuePair<string, object?>("pipeline", pipeline));

    internal void CountRepair(string pipeline) => _repairs.Add(1, new KeyValuePair<string, object?>("pipeline", pipeline));

    internal void CountDeadLetters(string pipeline, int count) => _deadLetters.Add(count, new KeyValuePair<string, object?>("pipeline", pipeline));

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<long>> Measure(Func<PipelineProgress, long> value) =>
        _pipelines.Values.Select(p => new Measurement<long>(value(p), new KeyValuePair<string, object?>("pipeline", p.Pipeline)));
}

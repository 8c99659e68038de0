using System.Diagnostics.Metrics;
using Unbundled.Pipelines.Observability;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

public sealed class PipelineMetricsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Workers_publish_events_lag_and_offset_on_the_pipelines_meter()
    {
        var measurements = new List<(string Instrument, long Value, string? Pipeline)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PipelineMonitor.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (measurements) measurements.Add((instrument.Name, value, tags.ToArray().FirstOrDefault(t => t.Key == "pipeline").Value as string));
        });
        listener.Start();
        await using var harness = await StartAsync(_directory.File("log.db"), [Pipeline("metered", new RecordingView())]);

        await harness.FlushAsync("a", NewList("A"), AddTodo("1", "x"));
        await harness.CatchUpAsync("metered");
        listener.RecordObservableInstruments();

        lock (measurements)
        {
            Assert.Equal(2, measurements.Where(m => m.Instrument == "unbundled.pipeline.events" && m.Pipeline == "metered").Sum(m => m.Value));
            Assert.Contains(("unbundled.pipeline.offset", 2L, "metered"), measurements);
            Assert.Contains(("unbundled.pipeline.lag", 0L, "metered"), measurements);
        }
    }

    public void Dispose() => _directory.Dispose();
}

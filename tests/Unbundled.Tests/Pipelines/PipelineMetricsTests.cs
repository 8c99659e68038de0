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

    [Fact]
    public async Task Each_batch_is_counted_and_timed_and_every_measurement_names_the_pipelines_source_and_sink()
    {
        var measurements = new List<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PipelineMonitor.MeterName) l.EnableMeasurementEvents(instrument);
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var named = tags.ToArray().ToDictionary(t => t.Key, t => t.Value);
            lock (measurements) measurements.Add((instrument.Name, value, named));
        }
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.Start();
        await using var harness = await StartAsync(_directory.File("log.db"), [Pipeline("timed", new RecordingView(), batchSize: 1)]);

        await harness.FlushAsync("a", NewList("A"), AddTodo("1", "x"));
        await harness.FlushAsync("a", AddTodo("2", "y"));
        await harness.CatchUpAsync("timed");
        listener.RecordObservableInstruments();

        lock (measurements)
        {
            var mine = measurements.Where(m => Equals(m.Tags.GetValueOrDefault("pipeline"), "timed")).ToList();
            Assert.Equal(3, mine.Where(m => m.Instrument == "unbundled.pipeline.batches").Sum(m => m.Value));
            var durations = mine.Where(m => m.Instrument == "unbundled.pipeline.batch.duration").Select(m => m.Value).ToList();
            Assert.Equal(3, durations.Count);
            Assert.All(durations, seconds => Assert.InRange(seconds, 0, 10));
            Assert.Contains(mine, m => m.Instrument == "unbundled.pipeline.lag.seconds" && m.Value == 0);
            Assert.All(mine, m =>
            {
                Assert.Equal("todo-lists", m.Tags["source"]);
                Assert.Equal("log", m.Tags["source.connector"]);
                Assert.Equal("timed-sink", m.Tags["sink"]);
                Assert.Equal("recording", m.Tags["sink.connector"]);
            });
        }
    }

    public void Dispose() => _directory.Dispose();
}

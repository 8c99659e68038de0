using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Unbundled.Pipelines.Observability;
using Unbundled.Tracing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// OpenTelemetry as a host would switch it on, for the telemetry-overhead passes: the pipelines' metrics
/// collected and read every second, and every derivation and write traced and batched for export. The
/// exporters count what they are given and keep nothing, so the figure is the SDK's cost, not a collector's.
/// </summary>
internal static class BenchTelemetry
{
    public static (CountingExporter<Activity> Spans, CountingExporter<Metric> Metrics) Add(IServiceCollection services)
    {
        var (spans, metrics) = (new CountingExporter<Activity>(), new CountingExporter<Metric>());
        services.AddOpenTelemetry()
            .WithMetrics(builder => builder.AddMeter(PipelineMonitor.MeterName).AddReader(new PeriodicExportingMetricReader(metrics, 1000)))
            .WithTracing(builder => builder.AddSource(UnbundledTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddProcessor(new BatchActivityExportProcessor(spans)));
        return (spans, metrics);
    }

    /// <summary>A W3C traceparent of a new trace, as a traced flush stores it with its commands.</summary>
    public static string NewTraceParent() => $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-01";

    /// <summary>Counts the items exported and drops them.</summary>
    internal sealed class CountingExporter<T> : BaseExporter<T> where T : class
    {
        private long _exported;

        public long Exported => Interlocked.Read(ref _exported);

        public override ExportResult Export(in Batch<T> batch)
        {
            foreach (var _ in batch) Interlocked.Increment(ref _exported);
            return ExportResult.Success;
        }
    }
}

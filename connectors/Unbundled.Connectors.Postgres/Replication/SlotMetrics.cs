using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// The meter <c>Unbundled.Sources.Postgres</c>: <c>unbundled.source.postgres.retained_wal</c>, the WAL each
/// pipeline's slot holds on the database's disk, as its last status read found it (tag <c>pipeline</c>).
/// </summary>
internal static class SlotMetrics
{
    /// <summary>The meter's name, for OpenTelemetry's <c>AddMeter</c>.</summary>
    public const string MeterName = "Unbundled.Sources.Postgres";

    private static readonly Meter Meter = new(MeterName);
    private static readonly ConcurrentDictionary<PostgresSource, string> Watched = new();

    static SlotMetrics() =>
        Meter.CreateObservableGauge("unbundled.source.postgres.retained_wal",
            () => Watched.Select(w => new Measurement<long>(w.Key.RetainedBytes, new KeyValuePair<string, object?>("pipeline", w.Value), new KeyValuePair<string, object?>("slot", w.Key.Slot))),
            unit: "By", description: "WAL a pipeline's replication slot holds back");

    /// <summary>Reports <paramref name="source"/>'s slot.</summary>
    public static void Watch(PostgresSource source) => Watched[source] = source.Pipeline;

    /// <summary>Stops reporting <paramref name="source"/>'s slot.</summary>
    public static void Forget(PostgresSource source) => Watched.TryRemove(source, out _);
}

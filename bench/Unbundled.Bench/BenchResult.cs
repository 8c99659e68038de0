using System.Globalization;

namespace Unbundled.Bench;

/// <summary>A scenario's outcome, printed as the one RESULT line reviewers and scripts read.</summary>
/// <param name="Scenario">The scenario's name.</param>
/// <param name="Value">What the project achieved.</param>
/// <param name="Unit">The unit of <paramref name="Value"/> and <paramref name="Baseline"/>.</param>
/// <param name="Baseline">What the raw baseline achieved in the same run.</param>
public record BenchResult(string Scenario, double Value, string Unit, double Baseline)
{
    /// <summary>The project against the baseline (higher is better for throughputs).</summary>
    public double Ratio => Value / Baseline;

    /// <summary>A latency scenario's outcome: its median and 99th percentile, in milliseconds; the value is the p99 unless <paramref name="value"/> says otherwise.</summary>
    public static BenchResult Latency(string scenario, double p50, double p99, double? value = null) => new LatencyResult(scenario, p50, p99, value ?? p99);

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RESULT {Scenario} value={Value:0.###} unit={Unit} baseline={Baseline:0.###} ratio={Ratio:0.###}");

    private sealed record LatencyResult(string Scenario, double P50, double P99, double Shown) : BenchResult(Scenario, Shown, "ms", double.NaN)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"RESULT {Scenario} value={Shown:0.###} unit=ms p50={P50:0.###} p99={P99:0.###}");
    }
}

using System.Globalization;

namespace Unbundled.Bench;

/// <summary>A scenario's outcome, printed as the one RESULT line reviewers and scripts read.</summary>
/// <param name="Scenario">The scenario's name.</param>
/// <param name="Value">What the project achieved.</param>
/// <param name="Unit">The unit of <paramref name="Value"/> and <paramref name="Baseline"/>.</param>
/// <param name="Baseline">What the raw baseline achieved in the same run.</param>
public sealed record BenchResult(string Scenario, double Value, string Unit, double Baseline)
{
    /// <summary>The project against the baseline (higher is better for throughputs).</summary>
    public double Ratio => Value / Baseline;

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"RESULT {Scenario} value={Value:0.###} unit={Unit} baseline={Baseline:0.###} ratio={Ratio:0.###}");
}

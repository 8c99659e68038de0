namespace Unbundled.Server;

/// <summary>
/// When <c>/health</c> calls a running pipeline <c>Degraded</c> (section <c>Unbundled:Health</c>), for
/// monitoring systems to alert on; each limit passed is named in the answer with the pipeline.
/// </summary>
public sealed class HealthThresholds
{
    /// <summary>Most source offsets a view may be behind (default 100,000).</summary>
    public long MaxLagEvents { get; set; } = 100_000;

    /// <summary>Most seconds a view may be behind its source, when set (off by default: an idle source makes the first change after a pause look old).</summary>
    public double? MaxLagSeconds { get; set; }

    /// <summary>Most dead letters a pipeline may hold, when set (off by default).</summary>
    public long? MaxDeadLetters { get; set; }
}

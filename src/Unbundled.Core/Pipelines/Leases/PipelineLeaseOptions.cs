namespace Unbundled.Pipelines.Leases;

/// <summary>How this server instance is known among others (<c>Unbundled:Instance</c>).</summary>
public sealed class PipelineLeaseOptions
{
    /// <summary>The instance's name in status, logs, lease sessions and per-instance consumer groups; the server defaults it to <c>host:port</c>, else <c>host:pid</c>.</summary>
    public string? Instance { get; set; }
}

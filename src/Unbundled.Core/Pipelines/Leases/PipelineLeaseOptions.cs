namespace Unbundled.Pipelines.Leases;

/// <summary>How this server instance is known among others (<c>Unbundled:Instance</c>).</summary>
public sealed class PipelineLeaseOptions
{
    /// <summary>The instance's name in status and logs; default <c>host:pid</c>.</summary>
    public string? Instance { get; set; }
}

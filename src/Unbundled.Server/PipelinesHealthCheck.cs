using Microsoft.Extensions.Diagnostics.HealthChecks;
using Unbundled.Pipelines.Observability;

namespace Unbundled.Server;

/// <summary>Healthy while every pipeline runs; degraded while one retries its sink or lags far behind; unhealthy when one stopped.</summary>
internal sealed class PipelinesHealthCheck(PipelineMonitor monitor) : IHealthCheck
{
    private const long FarBehind = 100_000;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var pipelines = monitor.Pipelines;
        var data = pipelines.ToDictionary(p => p.Pipeline, p => (object)p.State.ToString());
        var stopped = pipelines.Where(p => p.State is PipelineState.Faulted or PipelineState.Stopped).Select(p => p.Pipeline).ToList();
        if (stopped.Count > 0) return Task.FromResult(HealthCheckResult.Unhealthy($"stopped: {string.Join(", ", stopped)}", data: data));
        var repairing = pipelines.Where(p => p.IsRepairing).Select(p => p.Pipeline).ToList();
        if (repairing.Count > 0) return Task.FromResult(HealthCheckResult.Degraded($"repairing a view that lost its data: {string.Join(", ", repairing)}", data: data));
        var troubled = pipelines.Where(p => p.State == PipelineState.Retrying || p.LagEvents > FarBehind).Select(p => p.Pipeline).ToList();
        return Task.FromResult(troubled.Count > 0
            ? HealthCheckResult.Degraded($"retrying or far behind: {string.Join(", ", troubled)}", data: data)
            : HealthCheckResult.Healthy($"{pipelines.Count} pipeline(s) running", data));
    }
}

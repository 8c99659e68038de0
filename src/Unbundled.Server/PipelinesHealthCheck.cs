using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;

namespace Unbundled.Server;

/// <summary>
/// Healthy while every pipeline runs within its thresholds; degraded while one retries its sink, repairs
/// a view, or passes a threshold (each named, with the figure); unhealthy when one stopped.
/// </summary>
internal sealed class PipelinesHealthCheck(PipelineMonitor monitor, IPipelineStateStore state, IOptionsMonitor<HealthThresholds> thresholds) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var pipelines = monitor.Pipelines;
        var data = pipelines.ToDictionary(p => p.Pipeline, p => (object)p.State.ToString());
        var stopped = pipelines.Where(p => p.State is PipelineState.Faulted or PipelineState.Stopped).Select(p => p.Pipeline).ToList();
        if (stopped.Count > 0) return HealthCheckResult.Unhealthy($"stopped: {string.Join(", ", stopped)}", data: data);

        var limits = thresholds.CurrentValue;
        var reasons = new List<string>();
        foreach (var pipeline in pipelines)
        {
            if (pipeline.IsRepairing) reasons.Add($"{pipeline.Pipeline}: repairing a view that lost its data");
            if (pipeline.State == PipelineState.Retrying) reasons.Add($"{pipeline.Pipeline}: retrying its sink ({pipeline.LastError})");
            if (pipeline.LagEvents > limits.MaxLagEvents) reasons.Add($"{pipeline.Pipeline}: {pipeline.LagEvents} behind, over {limits.MaxLagEvents}");
            if (limits.MaxLagSeconds is { } seconds && pipeline.LagSeconds > seconds) reasons.Add($"{pipeline.Pipeline}: {pipeline.LagSeconds:0} s behind, over {seconds:0} s");
            if (limits.MaxDeadLetters is { } most && await state.CountDeadLettersAsync(pipeline.Pipeline, cancellationToken) is var letters && letters > most)
                reasons.Add($"{pipeline.Pipeline}: {letters} dead letters, over {most}");
        }
        return reasons.Count > 0
            ? HealthCheckResult.Degraded(string.Join("; ", reasons), data: data)
            : HealthCheckResult.Healthy($"{pipelines.Count} pipeline(s) running", data);
    }
}

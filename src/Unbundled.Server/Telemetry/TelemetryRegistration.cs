using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Unbundled.Pipelines.Observability;
using Unbundled.Server.Security;
using Unbundled.Tracing;

namespace Unbundled.Server.Telemetry;

/// <summary>
/// OpenTelemetry wired the .NET way: the pipelines' meter, ASP.NET Core, HttpClient and Npgsql, and the
/// unbundled path's traces (flush, then each pipeline's derivation and write); metrics served to
/// Prometheus at <c>/metrics</c> (admin only), and both sent over OTLP when an endpoint is configured.
/// </summary>
public static class TelemetryRegistration
{
    /// <summary>Where Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Registers the providers, unless <c>Unbundled:Telemetry:Enabled</c> is <c>false</c>. OTLP export is on when <c>Unbundled:Telemetry:OtlpEndpoint</c> or the
    /// standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set. Traces are recorded only then, or with
    /// <c>Unbundled:Telemetry:Tracing=true</c>, so that a server nobody traces pays nothing per request;
    /// <c>Unbundled:Telemetry:SampleRatio</c> (0 to 1, default 1) samples root traces, and a caller's sampled
    /// flag is followed. <c>Unbundled:Telemetry:ServiceName</c> names the service (default <c>unbundled</c>).
    /// </summary>
    public static WebApplicationBuilder AddUnbundledTelemetry(this WebApplicationBuilder builder)
    {
        var settings = builder.Configuration.GetSection("Unbundled:Telemetry");
        if (!Enabled(builder.Configuration)) return builder;
        var otlp = settings["OtlpEndpoint"] ?? builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var endpoint = Uri.TryCreate(otlp, UriKind.Absolute, out var parsed) ? parsed : null;
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(settings["ServiceName"] ?? "unbundled"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(PipelineMonitor.MeterName, Unbundled.Feeds.FeedHub.MeterName, "Unbundled.Sources.*").AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddPrometheusExporter();
                if (endpoint is not null) metrics.AddOtlpExporter(options => options.Endpoint = endpoint);
            });
        if (endpoint is null && !settings.GetValue<bool>("Tracing")) return builder;
        var ratio = Math.Clamp(settings.GetValue("SampleRatio", 1.0), 0, 1);
        telemetry.WithTracing(tracing =>
        {
            tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
                .AddSource(UnbundledTracing.SourceName).AddAspNetCoreInstrumentation().AddHttpClientInstrumentation().AddNpgsql();
            if (endpoint is not null) tracing.AddOtlpExporter(options => options.Endpoint = endpoint);
        });
        return builder;
    }

    /// <summary>Off altogether (no /metrics, no traces), for a host that collects nothing or measures what telemetry costs.</summary>
    private static bool Enabled(IConfiguration configuration) => configuration.GetSection("Unbundled:Telemetry").GetValue("Enabled", true);

    /// <summary>Serves <c>/metrics</c> to administrators only: the figures tell an outsider how the deployment is used.</summary>
    public static WebApplication MapUnbundledMetrics(this WebApplication app)
    {
        if (!Enabled(app.Configuration)) return app;
        app.UseAdminOnly(MetricsPath);
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        return app;
    }
}

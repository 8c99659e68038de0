using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Feeds;
using Unbundled.Connectors.Redis;
using Unbundled.Hosting;
using Unbundled.Server.Api;
using Unbundled.Server.Status;
using Unbundled.Server.Api.OpenApi;
using Unbundled.Server.Embedded;
using Unbundled.Server.Security;
using Unbundled.Server.Telemetry;

namespace Unbundled.Server;

/// <summary>Builds the Unbundled server: the master model's API over the configured command log, and the pipelines of pipelines.yaml.</summary>
public static class UnbundledApp
{
    /// <summary>The address the server listens on when none is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>The pipelines file used when none is configured, if it exists in the current directory.</summary>
    public const string DefaultPipelinesFile = "pipelines.yaml";

    /// <summary>
    /// Creates the web application from <paramref name="args"/>, appsettings.json and environment
    /// variables, serving the model types and projections <paramref name="application"/> registers (the CLI
    /// passes the demo's); <paramref name="configure"/> may change anything before it is built (tests use it).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null, Action<UnbundledBuilder>? application = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        // Quiet framework defaults first, so appsettings, environment and arguments can still override them.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Information",
                ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            },
        });
        if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null)
            builder.WebHost.UseUrls(DefaultUrl);
        var urls = (builder.Configuration["urls"] ?? builder.Configuration["ASPNETCORE_URLS"] ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries);

        builder.Services.AddProblemDetails();
        // A body with a member twice could mean two things: every JSON body the API binds refuses it, as flushes do.
        builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.AllowDuplicateProperties = false);
        builder.Services.AddUnbundledApiDocument();
        builder.AddUnbundledTelemetry();
        builder.Services.AddHealthChecks().AddCheck<PipelinesHealthCheck>("pipelines");
        builder.Services.AddStatusPage();
        builder.Services.AddOptions<ServerOptions>().Bind(builder.Configuration.GetSection("Unbundled:Server"));
        builder.Services.AddOptions<HealthThresholds>().Bind(builder.Configuration.GetSection("Unbundled:Health"));
        builder.AddUnbundledSecurity(urls);
        AddUnbundledServices(builder.Services, builder.Configuration, application);
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseUnbundledSecurity(urls);
        app.MapUnbundledMetrics();
        app.MapModelApi();
        app.MapPipelineApi();
        app.MapDeadLetterApi();
        app.MapPushFeeds()
            .WithSummary("Follow a channel of a push-feed pipeline over Server-Sent Events, or a WebSocket when the request upgrades (docs/feeds.md)")
            .Problems(
                new(400, "feed-request", "no channel, or a position or model version that is not one"),
                new(403, "feed-forbidden", "the caller may not follow this channel"),
                new(404, "unknown-feed", "no push-feed pipeline has that name"),
                new(404, "unknown-channel", "the channel does not fit the pipeline's channel template"),
                new(503, "feed-unavailable", "the feed's worker did not start in time"));
        app.MapUnbundledApiDocument();
        app.MapBrowserClient();
        app.MapStatusPage();
        app.MapHealthChecks("/health");
        // The same checks with their reasons (which pipeline, which threshold), for administrators and their alerting.
        app.UseAdminOnly(HealthReport.Path);
        app.MapHealthChecks(HealthReport.Path, new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { ResponseWriter = HealthReport.WriteAsync });
        return app;
    }

    /// <summary>
    /// Registers the master, the configured log, the application's model types and projections, the
    /// built-in connectors and the pipelines file (<c>Unbundled:Pipelines:File</c>, else ./pipelines.yaml
    /// when present). The CLI's <c>validate</c> uses the same registration, so it checks exactly what
    /// <c>run</c> would run.
    /// </summary>
    public static UnbundledBuilder AddUnbundledServices(IServiceCollection services, IConfiguration configuration, Action<UnbundledBuilder>? application = null)
    {
        var unbundled = services.AddUnbundled(configuration).UseConfiguredLog(configuration);
        application?.Invoke(unbundled);
        services.AddNdjsonFileSink().AddLuceneIndexSink().AddElasticsearchSink();
        services.AddPostgresSource();
        services.AddKafka();
        services.Configure<Unbundled.Pipelines.Leases.PipelineLeaseOptions>(options => options.Instance ??= configuration["Unbundled:Instance"] ?? DefaultInstance(configuration));
        unbundled.AddPushFeeds();
        var redis = configuration["Unbundled:Redis:Connection"] ?? configuration["UNBUNDLED_REDIS"];
        if (redis is { Length: > 0 })
        {
            services.AddRedisCacheSink(defaults => defaults.Connection = redis);
        }
        else
        {
            services.AddSingleton<EmbeddedGarnetServer>();
            services.AddRedisCacheSink();
            services.AddOptions<RedisConnectionDefaults>().Configure<EmbeddedGarnetServer>((defaults, garnet) => defaults.Connection = garnet.Connection);
        }

        // An empty setting means no file at all (the pipe form builds its own), not the default one.
        var file = configuration["Unbundled:Pipelines:File"] is { } configured
            ? configured.Length > 0 ? configured : null
            : File.Exists(DefaultPipelinesFile) ? DefaultPipelinesFile : null;
        if (file is not null) unbundled.AddPipelinesFile(file);
        return unbundled;
    }

    /// <summary>
    /// An instance's name when none is configured: host and port, stable across restarts and apart from another
    /// instance on the same host (a per-instance consumer group keeps its offsets by it); null when the port is
    /// chosen at start, and then the lease names the process.
    /// </summary>
    private static string? DefaultInstance(IConfiguration configuration)
    {
        var first = (configuration["urls"] ?? configuration["ASPNETCORE_URLS"] ?? DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? DefaultUrl;
        var port = Uri.TryCreate(first.Replace("://*", "://localhost").Replace("://+", "://localhost"), UriKind.Absolute, out var uri) ? uri.Port : 0;
        return port > 0 ? $"{Environment.MachineName}:{port}" : null;
    }
}

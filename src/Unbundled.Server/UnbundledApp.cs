using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Server.Api;

namespace Unbundled.Server;

/// <summary>Builds the Unbundled server: the master model's API over the configured command log.</summary>
public static class UnbundledApp
{
    /// <summary>The address the server listens on when none is configured.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5080";

    /// <summary>
    /// Creates the web application from <paramref name="args"/>, appsettings.json and environment
    /// variables; <paramref name="configure"/> may change anything before it is built (tests use it).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
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

        builder.Services.AddProblemDetails();
        builder.Services.AddOptions<ServerOptions>().Bind(builder.Configuration.GetSection("Unbundled:Server"));
        builder.Services.AddUnbundled(builder.Configuration)
            .UseConfiguredLog(builder.Configuration)
            .AddTodoApp();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.MapModelApi();
        return app;
    }
}

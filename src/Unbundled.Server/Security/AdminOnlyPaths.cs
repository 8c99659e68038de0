using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Unbundled.Server.Security;

/// <summary>Puts endpoints that a library maps (a scraping endpoint, a health report) behind the same access gate as ours.</summary>
public static class AdminOnlyPaths
{
    /// <summary>Answers every request for <paramref name="path"/> and below with the gate's 401 or 403 unless the caller is an administrator.</summary>
    public static WebApplication UseAdminOnly(this WebApplication app, string path)
    {
        // By segments, not equality: routing serves "/metrics/" as "/metrics", and an equal-path gate let it through.
        app.UseWhen(http => http.Request.Path.StartsWithSegments(path, StringComparison.OrdinalIgnoreCase), branch => branch.Use(async (HttpContext http, RequestDelegate next) =>
        {
            if (http.RequestServices.GetRequiredService<AccessGate>().Check(http, new AccessRequest(AccessAction.Admin)) is { } refused)
            {
                await refused.ExecuteAsync(http);
                return;
            }
            await next(http);
        }));
        return app;
    }
}

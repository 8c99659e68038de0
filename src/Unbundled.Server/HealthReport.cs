using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Server;

/// <summary><c>/health/detail</c>: the health status with each check's reason and data, as JSON, for administrators.</summary>
internal static class HealthReport
{
    /// <summary>Where the detailed report is served.</summary>
    public const string Path = "/health/detail";

    /// <summary>Writes <c>{"status", "checks": {name: {status, reason, data}}}</c>.</summary>
    public static Task WriteAsync(HttpContext http, Microsoft.Extensions.Diagnostics.HealthChecks.HealthReport report)
    {
        http.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(http.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), reason = e.Value.Description, data = e.Value.Data }),
        }, cancellationToken: http.RequestAborted);
    }
}

using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// What every request meets before its handler, as in Elasticsearch: the product header on every
/// response (the official clients refuse a server without it), request-level 429 under indexing
/// pressure, and the media types of the REST API compatibility reference — plain JSON and NDJSON, or
/// the vendored <c>application/vnd.elasticsearch+json</c> / <c>+x-ndjson</c> with <c>compatible-with</c>
/// 8 or 9, the same on Content-Type and Accept, answered in the vendored type the client accepts.
/// </summary>
public sealed partial class ElasticsearchDouble
{
    private async Task WireFormatAsync(HttpContext context, Func<Task> next)
    {
        context.Response.Headers["X-elastic-product"] = "Elasticsearch";
        if (ConsumeRequestRejection())
        {
            await WriteAsync(context, 429, new EsError(429, "es_rejected_execution_exception",
                "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=0]").Body());
            return;
        }
        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        var contentType = context.Request.ContentType;
        int? contentVersion = null;
        if (hasBody)
        {
            if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || !Supported(media.MediaType))
            {
                await WriteAsync(context, 406, new JsonObject { ["error"] = $"Content-Type header [{contentType}] is not supported", ["status"] = 406 });
                return;
            }
            if (!TryCompatibleWith(media, out contentVersion))
            {
                await WriteAsync(context, 400, MediaTypeError());
                return;
            }
        }
        int? acceptVersion = null;
        foreach (var accept in context.Request.Headers.Accept.SelectMany(a => (a ?? "").Split(',')))
        {
            if (!MediaTypeHeaderValue.TryParse(accept.Trim(), out var media) || media.MediaType?.StartsWith("application/vnd.elasticsearch", StringComparison.Ordinal) != true) continue;
            if (!TryCompatibleWith(media, out acceptVersion))
            {
                await WriteAsync(context, 400, MediaTypeError());
                return;
            }
        }
        if (contentVersion is not null && acceptVersion is not null && contentVersion != acceptVersion)
        {
            await WriteAsync(context, 400, new EsError(400, "media_type_header_exception",
                $"A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept={context.Request.Headers.Accept}, Content-Type={contentType}").Body());
            return;
        }
        if (acceptVersion is { } version)
        {
            context.Response.OnStarting(() =>
            {
                if (context.Response.ContentType?.StartsWith("application/json", StringComparison.Ordinal) == true)
                    context.Response.ContentType = $"application/vnd.elasticsearch+json;compatible-with={version}";
                return Task.CompletedTask;
            });
        }
        await next();
    }

    private bool ConsumeRequestRejection()
    {
        lock (_gate)
        {
            if (RejectNextRequests <= 0) return false;
            RejectNextRequests--;
            return true;
        }
    }

    private static bool Supported(string? mediaType) => mediaType is "application/json" or "application/x-ndjson"
        or "application/vnd.elasticsearch+json" or "application/vnd.elasticsearch+x-ndjson";

    /// <summary>A vendored type must say compatible-with 8 or 9 (this double is a 9.x node); plain types carry none.</summary>
    private static bool TryCompatibleWith(MediaTypeHeaderValue media, out int? version)
    {
        version = null;
        if (media.MediaType?.StartsWith("application/vnd.elasticsearch", StringComparison.Ordinal) != true) return true;
        var parameter = media.Parameters.FirstOrDefault(p => p.Name == "compatible-with")?.Value;
        if (!int.TryParse(parameter, out var number) || number is not (8 or 9)) return false;
        version = number;
        return true;
    }

    private static JsonObject MediaTypeError() =>
        new EsError(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]").Body();

    private static async Task WriteAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(new JsonSerializerOptions()));
    }
}

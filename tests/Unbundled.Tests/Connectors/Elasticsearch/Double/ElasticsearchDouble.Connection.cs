using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// What a request meets before the REST layer: which node it reached (each node is a loopback port of
/// the same cluster), and, when credentials are required, authentication as the Security reference
/// describes it for a cluster with security on — a request without the expected <c>Authorization</c>
/// header is refused with 401 <c>security_exception</c> and the schemes the cluster accepts.
/// </summary>
public sealed partial class ElasticsearchDouble
{
    private readonly ConcurrentDictionary<int, int> _requestsByPort = new();

    /// <summary>The one <c>Authorization</c> header value the cluster accepts (<c>ApiKey …</c>, <c>Basic …</c>); null: security off.</summary>
    public string? RequiredAuthorization { get; set; }

    /// <summary>How many requests the node at <paramref name="url"/> has answered.</summary>
    public int RequestsAt(string url) => _requestsByPort.GetValueOrDefault(new Uri(url).Port);

    private Task CountAsync(HttpContext context, Func<Task> next)
    {
        _requestsByPort.AddOrUpdate(context.Connection.LocalPort, 1, (_, count) => count + 1);
        return next();
    }

    private async Task AuthenticateAsync(HttpContext context, Func<Task> next)
    {
        if (RequiredAuthorization is not { } required || context.Request.Headers.Authorization == required)
        {
            await next();
            return;
        }
        var reason = context.Request.Headers.Authorization.Count == 0
            ? $"missing authentication credentials for REST request [{context.Request.Path}]"
            : "unable to authenticate with provided credentials and anonymous access is not allowed for this request";
        string[] challenges = ["Basic realm=\"security\", charset=\"UTF-8\"", "Bearer realm=\"security\"", "ApiKey"];
        var body = new EsError(401, "security_exception", reason).Body();
        body["error"]!["header"] = new JsonObject { ["WWW-Authenticate"] = new JsonArray([.. challenges.Select(c => (JsonNode)c)]) };
        context.Response.Headers["X-elastic-product"] = "Elasticsearch";
        context.Response.Headers.WWWAuthenticate = challenges;
        await WriteAsync(context, 401, body);
    }
}

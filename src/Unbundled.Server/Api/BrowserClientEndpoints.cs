using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Unbundled.Server.Api;

/// <summary>Serves the browser client (clients/browser/unbundled-client.js), so a page can import it from the server it talks to.</summary>
public static class BrowserClientEndpoints
{
    private static readonly Lazy<byte[]> Module = new(() =>
    {
        using var resource = typeof(BrowserClientEndpoints).Assembly.GetManifestResourceStream("unbundled-client.js")
            ?? throw new InvalidOperationException("the browser client is not embedded in the server assembly");
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    });

    /// <summary>Maps <c>GET /client/unbundled-client.js</c>.</summary>
    public static IEndpointRouteBuilder MapBrowserClient(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/client/unbundled-client.js", () => Results.Bytes(Module.Value, "text/javascript; charset=utf-8"));
        return routes;
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Unbundled.Server.Api;

/// <summary>
/// Serves the browser client (clients/browser): the ES module, so a page can import it from the
/// server it talks to, and a live todo-list page built on it.
/// </summary>
public static class BrowserClientEndpoints
{
    private static readonly Lazy<byte[]> Module = new(() => Embedded("unbundled-client.js"));
    private static readonly Lazy<byte[]> Page = new(() => Embedded("index.html"));

    /// <summary>Maps <c>GET /client/unbundled-client.js</c> and the demo page <c>GET /client/</c>.</summary>
    public static IEndpointRouteBuilder MapBrowserClient(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/client/unbundled-client.js", () => Results.Bytes(Module.Value, "text/javascript; charset=utf-8"));
        routes.MapGet("/client/", () => Results.Bytes(Page.Value, "text/html; charset=utf-8"));
        return routes;
    }

    private static byte[] Embedded(string name)
    {
        using var resource = typeof(BrowserClientEndpoints).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"{name} of the browser client is not embedded in the server assembly");
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Unbundled.Server.Api;

/// <summary>
/// Serves the browser client (clients/browser): its ES modules, so a page can import them from the
/// server it talks to, and the demo todo-list page built on them (its script and stylesheet too).
/// </summary>
public static class BrowserClientEndpoints
{
    private static readonly EmbeddedFiles Files = new("client/");

    /// <summary>Maps <c>GET /client/{file}</c> (the modules, e.g. <c>unbundled-client.js</c>) and the demo page <c>GET /client/</c>.</summary>
    public static IEndpointRouteBuilder MapBrowserClient(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/client/", () => Files.Serve("index.html"));
        routes.MapGet("/client/{file}", (string file) => Files.Serve(file));
        return routes;
    }
}

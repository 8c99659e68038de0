using System.Collections.Frozen;
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
    private const string Prefix = "client/";

    // Every file of clients/browser is embedded at build time, so the set served is fixed and no
    // request path ever reaches the file system.
    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(() =>
        typeof(BrowserClientEndpoints).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(Prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(name => name[Prefix.Length..], Embedded, StringComparer.Ordinal));

    /// <summary>Maps <c>GET /client/{file}</c> (the modules, e.g. <c>unbundled-client.js</c>) and the demo page <c>GET /client/</c>.</summary>
    public static IEndpointRouteBuilder MapBrowserClient(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/client/", () => Serve("index.html"));
        routes.MapGet("/client/{file}", (string file) => Serve(file));
        return routes;
    }

    private static IResult Serve(string file) =>
        Files.Value.TryGetValue(file, out var bytes)
            ? Results.Bytes(bytes, ContentType(file))
            : Results.NotFound();

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "text/html; charset=utf-8",
    };

    private static byte[] Embedded(string name)
    {
        using var resource = typeof(BrowserClientEndpoints).Assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    }
}

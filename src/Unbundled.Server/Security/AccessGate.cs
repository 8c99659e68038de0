using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Unbundled.Server.Security;

/// <summary>
/// Resolves who sent a request and asks the <see cref="IAccessPolicy"/> whether they may do what they
/// ask; every endpoint goes through here. With authentication configured, an anonymous request is
/// answered 401 and a refused one 403. Without it (a loopback server, or one started with
/// <c>--allow-anonymous</c>) everyone may do everything, as the startup warning says.
/// </summary>
public sealed class AccessGate(IOptionsMonitor<AuthOptions> auth, IOptionsMonitor<ServerOptions> server, IAccessPolicy policy)
{
    private const string TypePrefix = "urn:unbundled:problem:";

    /// <summary>Whether requests must authenticate.</summary>
    public bool Required => auth.CurrentValue.IsConfigured;

    /// <summary>The caller of a request.</summary>
    public Caller Resolve(HttpContext http)
    {
        var user = http.User;
        if (user.Identity is { IsAuthenticated: true })
        {
            var name = user.Identity.Name ?? user.FindFirst("sub")?.Value ?? "unknown";
            return new Caller(name, user.FindFirst(UnbundledClaims.Tenant)?.Value, true, user);
        }
        var options = server.CurrentValue;
        var claimed = options.TrustedUserHeader is { } header && FromTrustedProxy(http, options) && http.Request.Headers[header] is [{ Length: > 0 } value] ? value : null;
        return new Caller(claimed ?? "anonymous", null, false, user);
    }

    /// <summary>Null when the request may go on; otherwise the 401 or 403 problem to answer.</summary>
    public IResult? Check(HttpContext http, AccessRequest request) => Check(http, request, out _);

    /// <summary>As <see cref="Check(HttpContext, AccessRequest)"/>, also giving the resolved caller.</summary>
    public IResult? Check(HttpContext http, AccessRequest request, out Caller caller)
    {
        caller = Resolve(http);
        if (RequireAuthenticated(http) is { } unauthenticated) return unauthenticated;
        if (!Required) return null;
        // A feed token opens one feed channel and nothing else.
        if (caller.Principal.FindFirst(UnbundledClaims.Feed) is { } scope)
            return request.Action == AccessAction.Feed && scope.Value == $"{request.Pipeline}/{request.Channel}" ? null : Forbidden(caller, request);
        return policy.Allows(caller, request) ? null : Forbidden(caller, request);
    }

    /// <summary>The 401 problem for an anonymous request to a server that requires authentication; null otherwise.</summary>
    public IResult? RequireAuthenticated(HttpContext http)
    {
        if (!Required || http.User.Identity is { IsAuthenticated: true }) return null;
        http.Response.Headers.WWWAuthenticate = "ApiKey, Bearer";
        return Results.Problem("authenticate with an API key (Authorization: ApiKey …) or a bearer token", statusCode: StatusCodes.Status401Unauthorized,
            title: "Authentication required", type: TypePrefix + "unauthenticated");
    }

    private static IResult Forbidden(Caller caller, AccessRequest request) =>
        Results.Problem($"'{caller.Name}' may not {Describe(request)}", statusCode: StatusCodes.Status403Forbidden,
            title: "Forbidden", type: TypePrefix + "forbidden");

    private static string Describe(AccessRequest request) => request.Action switch
    {
        AccessAction.Write => $"flush to models of type '{request.ModelType}'",
        AccessAction.ReadModel => $"read models of type '{request.ModelType}'",
        AccessAction.ReadView => $"read the view '{request.Pipeline}'",
        AccessAction.Search => $"search the view '{request.Pipeline}'",
        AccessAction.Feed => $"follow '{request.Channel}' of the feed '{request.Pipeline}'",
        _ => "administer the pipelines",
    };

    private static bool FromTrustedProxy(HttpContext http, ServerOptions options) =>
        http.Connection.RemoteIpAddress is { } remote &&
        options.TrustedProxies.Any(proxy => IPAddress.TryParse(proxy, out var address) && address.Equals(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote));
}

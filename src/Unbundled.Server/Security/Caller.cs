using System.Security.Claims;

namespace Unbundled.Server.Security;

/// <summary>The claim types the server's own handlers issue.</summary>
public static class UnbundledClaims
{
    /// <summary>The tenant the caller acts for.</summary>
    public const string Tenant = Unbundled.Feeds.FeedEndpoints.TenantClaim;

    /// <summary>A feed token's scope: <c>{pipeline}/{channel}</c>.</summary>
    public const string Feed = "feed";

    /// <summary>The role that may do everything, across tenants when it has none.</summary>
    public const string Admin = "admin";

    /// <summary>The role that may flush.</summary>
    public const string Writer = "writer";

    /// <summary>The role that may read models, views, search and feeds.</summary>
    public const string Reader = "reader";
}

/// <summary>What the server knows of whoever sent a request.</summary>
/// <param name="Name">The identity recorded with commands.</param>
/// <param name="Tenant">The tenant, or null for a caller of no tenant.</param>
/// <param name="Authenticated">False for an anonymous caller of a server that runs without authentication.</param>
/// <param name="Principal">The authenticated principal.</param>
public sealed record Caller(string Name, string? Tenant, bool Authenticated, ClaimsPrincipal Principal)
{
    /// <summary>Whether the principal holds <paramref name="role"/> (admin holds every role).</summary>
    public bool HasRole(string role) => Principal.IsInRole(UnbundledClaims.Admin) || Principal.IsInRole(role);
}

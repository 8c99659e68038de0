using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Unbundled.Server.Security;

/// <summary>
/// Authenticates <c>Authorization: ApiKey &lt;key&gt;</c> (or <c>X-Api-Key</c>) against the configured
/// SHA-256 hashes, compared in constant time; reads the options on every request, so a revoked or
/// removed key stops working as soon as the configuration reloads.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemes, ILoggerFactory logger, UrlEncoder encoder, IOptionsMonitor<AuthOptions> auth)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemes, logger, encoder)
{
    /// <summary>The scheme's name.</summary>
    public const string SchemeName = "ApiKey";

    /// <summary>Whether a request carries an API key at all.</summary>
    public static bool Carries(Microsoft.AspNetCore.Http.HttpRequest request) =>
        request.Headers.ContainsKey("X-Api-Key") || request.Headers.Authorization.ToString().StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase);

    /// <summary>The hex SHA-256 of a key, as the configuration holds it.</summary>
    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        var key = header.StartsWith(SchemeName + " ", StringComparison.OrdinalIgnoreCase) ? header[(SchemeName.Length + 1)..].Trim() : Request.Headers["X-Api-Key"].ToString();
        if (key.Length == 0) return Task.FromResult(AuthenticateResult.NoResult());

        var hash = Convert.FromHexString(Hash(key));
        foreach (var candidate in auth.CurrentValue.ApiKeys)
        {
            if (candidate.Sha256.Length != 64 || !CryptographicOperations.FixedTimeEquals(hash, Convert.FromHexString(candidate.Sha256))) continue;
            if (candidate.Revoked) return Task.FromResult(AuthenticateResult.Fail($"the API key '{candidate.Name}' is revoked"));
            var claims = new List<Claim> { new(ClaimTypes.Name, candidate.Name) };
            claims.AddRange(candidate.Roles.Select(role => new Claim(ClaimTypes.Role, role)));
            if (candidate.Tenant is { Length: > 0 } tenant) claims.Add(new Claim(UnbundledClaims.Tenant, tenant));
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName)));
        }
        return Task.FromResult(AuthenticateResult.Fail("unknown API key"));
    }
}

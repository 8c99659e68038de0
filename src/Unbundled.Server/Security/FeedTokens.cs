using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Unbundled.Server.Security;

/// <summary>
/// Signs and checks the short-lived tokens that let a browser's EventSource or WebSocket open one
/// feed channel: EventSource cannot send headers, and a long-lived key must never sit in a URL (where
/// proxies and histories keep it). A token names one pipeline and channel and expires within minutes.
/// </summary>
public sealed class FeedTokens
{
    /// <summary>The authentication scheme that accepts feed tokens in <c>?access_token=</c>.</summary>
    public const string SchemeName = "FeedToken";

    private const string Issuer = "unbundled";
    private const string Audience = "unbundled-feed";
    private readonly SymmetricSecurityKey _key;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _clock;

    /// <summary>Uses the configured key, or one generated for this process (then tokens work on this instance only).</summary>
    public FeedTokens(IOptions<AuthOptions> options, TimeProvider clock)
    {
        var configured = options.Value.FeedTokens.SigningKey;
        _key = new SymmetricSecurityKey(configured is { Length: > 0 } ? Convert.FromBase64String(configured) : RandomNumberGenerator.GetBytes(32));
        _lifetime = options.Value.FeedTokens.Lifetime;
        _clock = clock;
    }

    /// <summary>A token for <paramref name="caller"/> to follow one channel, and when it expires.</summary>
    public (string Token, DateTimeOffset Expires) Issue(Caller caller, string pipeline, string channel)
    {
        var now = _clock.GetUtcNow();
        var claims = new List<Claim> { new("sub", caller.Name), new(UnbundledClaims.Feed, $"{pipeline}/{channel}") };
        if (caller.Tenant is not null) claims.Add(new Claim(UnbundledClaims.Tenant, caller.Tenant));
        var expires = now + _lifetime;
        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            Subject = new ClaimsIdentity(claims),
            SigningCredentials = new SigningCredentials(_key, SecurityAlgorithms.HmacSha256),
        });
        return (token, expires);
    }

    /// <summary>How the feed-token scheme validates what <see cref="Issue"/> signed.</summary>
    public TokenValidationParameters Validation() => new()
    {
        ValidIssuer = Issuer,
        ValidAudience = Audience,
        IssuerSigningKey = _key,
        NameClaimType = "sub",
        ClockSkew = TimeSpan.FromSeconds(5),
    };
}

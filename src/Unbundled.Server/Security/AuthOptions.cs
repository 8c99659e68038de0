namespace Unbundled.Server.Security;

/// <summary>Who may call the server and how they prove it (section <c>Unbundled:Auth</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>Named API keys; only their SHA-256 hashes are configured, never the keys.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>JWT bearer tokens from an identity provider.</summary>
    public JwtOptions Jwt { get; set; } = new();

    /// <summary>Short-lived tokens the server signs for browsers' feed connections, which cannot send headers.</summary>
    public FeedTokenOptions FeedTokens { get; set; } = new();

    /// <summary>Serve without authentication on a non-loopback address (the operator's explicit choice; <c>--allow-anonymous</c>).</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>True when some way of authenticating is configured.</summary>
    public bool IsConfigured => ApiKeys.Count > 0 || Jwt.IsConfigured;
}

/// <summary>One API key: its name (the caller's identity), the SHA-256 of the key, its roles and tenant.</summary>
public sealed class ApiKeyOptions
{
    /// <summary>The caller's name, as commands and logs record it.</summary>
    public string Name { get; set; } = "";

    /// <summary>The key's SHA-256, hex; <c>unbundled hash-key</c> prints it (the key itself is never stored).</summary>
    public string Sha256 { get; set; } = "";

    /// <summary>Roles granted: <c>reader</c>, <c>writer</c>, <c>admin</c>.</summary>
    public List<string> Roles { get; set; } = ["reader"];

    /// <summary>The tenant the key acts for; none reaches every tenant's data (give that to administrators only).</summary>
    public string? Tenant { get; set; }

    /// <summary>A revoked key is refused; configuration reloads take effect without a restart.</summary>
    public bool Revoked { get; set; }
}

/// <summary>Validation settings for JWT bearer tokens.</summary>
public sealed class JwtOptions
{
    /// <summary>The expected <c>iss</c>.</summary>
    public string? Issuer { get; set; }

    /// <summary>The expected <c>aud</c>.</summary>
    public string? Audience { get; set; }

    /// <summary>Symmetric signing keys, base64 (HS256); rotate by listing old and new.</summary>
    public List<string> SigningKeys { get; set; } = [];

    /// <summary>The claim that carries roles.</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The claim that carries the tenant.</summary>
    public string TenantClaim { get; set; } = "tenant";

    /// <summary>True when tokens can be validated.</summary>
    public bool IsConfigured => Issuer is { Length: > 0 } && Audience is { Length: > 0 } && SigningKeys.Count > 0;
}

/// <summary>Settings of the feed tokens the server issues.</summary>
public sealed class FeedTokenOptions
{
    /// <summary>The HMAC key, base64, shared by every instance behind one load balancer; generated at start when empty.</summary>
    public string? SigningKey { get; set; }

    /// <summary>How long a token opens a feed connection; short, since it travels in a URL.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromMinutes(2);
}

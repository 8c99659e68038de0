using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Unbundled.Server.Security;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Security;

/// <summary>
/// The real server with API keys and JWT configured, and views that declare their owner: the
/// callers below, each with its own client. Keys are configured by their SHA-256 only, as in production.
/// </summary>
public sealed class SecuredServer : IAsyncLifetime
{
    public const string JwtIssuer = "https://id.example.test";
    public const string JwtAudience = "unbundled-tests";
    public static readonly byte[] JwtKey = Encoding.UTF8.GetBytes("a signing key of at least thirty-two bytes, for HS256");

    private readonly TempDirectory _directory = new();
    private readonly List<HttpClient> _clients = [];

    public RunningServer Server { get; private set; } = null!;

    /// <summary>Writer of tenant acme.</summary>
    public HttpClient Alice { get; private set; } = null!;

    /// <summary>Writer of tenant globex.</summary>
    public HttpClient Bob { get; private set; } = null!;

    /// <summary>Reader of tenant acme.</summary>
    public HttpClient Rita { get; private set; } = null!;

    /// <summary>Administrator of no tenant.</summary>
    public HttpClient Root { get; private set; } = null!;

    /// <summary>No credentials at all.</summary>
    public HttpClient Anonymous { get; private set; } = null!;

    public static readonly (string Name, string Key, string Role, string? Tenant, bool Revoked)[] Keys =
    [
        ("alice", "alice-key-0123456789", "writer", "acme", false),
        ("bob", "bob-key-0123456789", "writer", "globex", false),
        ("rita", "rita-key-0123456789", "reader", "acme", false),
        ("root", "root-key-0123456789", "admin", null, false),
        ("old", "old-key-0123456789", "writer", "acme", true),
    ];

    public async Task InitializeAsync()
    {
        var settings = new List<string>
        {
            $"--Unbundled:Auth:Jwt:Issuer={JwtIssuer}", $"--Unbundled:Auth:Jwt:Audience={JwtAudience}",
            $"--Unbundled:Auth:Jwt:SigningKeys:0={Convert.ToBase64String(JwtKey)}",
        };
        for (var i = 0; i < Keys.Length; i++)
        {
            var (name, key, role, tenant, revoked) = Keys[i];
            settings.AddRange([$"--Unbundled:Auth:ApiKeys:{i}:Name={name}", $"--Unbundled:Auth:ApiKeys:{i}:Sha256={ApiKeyAuthenticationHandler.Hash(key)}",
                $"--Unbundled:Auth:ApiKeys:{i}:Roles:0={role}", $"--Unbundled:Auth:ApiKeys:{i}:Revoked={revoked}"]);
            if (tenant is not null) settings.Add($"--Unbundled:Auth:ApiKeys:{i}:Tenant={tenant}");
        }
        Server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index" }
              cache: { connector: redis, key: "todo:{listId}:{id}" }
              journal: { connector: ndjson, directory: "{{_directory.Path}}/journal" }
              feed: { connector: push-feed, channel: "list:{key}" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index, owner: tenant }
              items: { from: lists, projection: todo-items, to: cache, owner: tenant }
              unowned: { from: lists, projection: todo-items, to: journal }
              lists:
                from: lists
                select: { key: "{key}", fields: { title: after.title, tenant: after._tenant } }
                to: feed
                owner: tenant
            """, 4, [.. settings]);
        Alice = Client("alice-key-0123456789");
        Bob = Client("bob-key-0123456789");
        Rita = Client("rita-key-0123456789");
        Root = Client("root-key-0123456789");
        Anonymous = Client(null);
    }

    /// <summary>A client of the server sending <paramref name="apiKey"/>, if any.</summary>
    public HttpClient Client(string? apiKey, AuthenticationHeaderValue? authorization = null)
    {
        var client = new HttpClient { BaseAddress = Server.Client.BaseAddress };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);
        if (authorization is not null) client.DefaultRequestHeaders.Authorization = authorization;
        _clients.Add(client);
        return client;
    }

    /// <summary>A JWT as an identity provider would sign it, with <paramref name="roles"/> and <paramref name="tenant"/>.</summary>
    public static string Jwt(string subject, string[] roles, string? tenant, byte[]? key = null, string audience = JwtAudience, DateTime? expires = null)
    {
        var claims = new List<Claim> { new("sub", subject) };
        claims.AddRange(roles.Select(role => new Claim("roles", role)));
        if (tenant is not null) claims.Add(new Claim("tenant", tenant));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = JwtIssuer,
            Audience = audience,
            Expires = expires ?? DateTime.UtcNow.AddMinutes(5),
            NotBefore = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
            IssuedAt = (expires ?? DateTime.UtcNow.AddMinutes(5)).AddMinutes(-10),
            Subject = new ClaimsIdentity(claims),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key ?? JwtKey), SecurityAlgorithms.HmacSha256),
        });
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await Server.DisposeAsync();
        _directory.Dispose();
    }
}

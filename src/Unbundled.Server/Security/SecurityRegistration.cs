using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Builder;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Unbundled.Feeds;

using Unbundled.Server.Api.OpenApi;

namespace Unbundled.Server.Security;

/// <summary>Wires authentication (API keys, JWT bearer, feed tokens), the policy point, host filtering and CORS, and the safe defaults.</summary>
public static class SecurityRegistration
{
    private const string SelectorScheme = "Unbundled";

    /// <summary>Registers the schemes and the policy; <paramref name="urls"/> are the addresses the server will listen on.</summary>
    public static void AddUnbundledSecurity(this WebApplicationBuilder builder, IReadOnlyList<string> urls)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection("Unbundled:Auth"));
        services.TryAddSingleton<IAccessPolicy, RoleAccessPolicy>();
        services.AddSingleton<AccessGate>();
        services.AddSingleton<FeedTokens>();
        services.AddSingleton<IFeedAuthorizer, PolicyFeedAuthorizer>();

        services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "API key, bearer token or feed token", policy => policy.ForwardDefaultSelector = Select)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddJwtBearer(JwtBearerDefaults.AuthenticationScheme, _ => { })
            .AddJwtBearer(FeedTokens.SchemeName, _ => { });
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme).Configure<IOptions<AuthOptions>>((bearer, auth) =>
        {
            var jwt = auth.Value.Jwt;
            bearer.MapInboundClaims = false;
            bearer.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = jwt.Issuer,
                ValidAudience = jwt.Audience,
                IssuerSigningKeys = jwt.SigningKeys.Select(key => new SymmetricSecurityKey(Convert.FromBase64String(key))).ToList(),
                NameClaimType = "sub",
                RoleClaimType = jwt.RoleClaim,
                ValidateIssuerSigningKey = true,
            };
            if (jwt.TenantClaim != UnbundledClaims.Tenant)
            {
                bearer.Events = new JwtBearerEvents
                {
                    OnTokenValidated = context =>
                    {
                        if (context.Principal?.FindFirst(jwt.TenantClaim) is { } tenant && context.Principal.Identity is System.Security.Claims.ClaimsIdentity identity)
                            identity.AddClaim(new System.Security.Claims.Claim(UnbundledClaims.Tenant, tenant.Value));
                        return Task.CompletedTask;
                    },
                };
            }
        });
        services.AddOptions<JwtBearerOptions>(FeedTokens.SchemeName).Configure<FeedTokens>((bearer, tokens) =>
        {
            bearer.MapInboundClaims = false;
            bearer.TokenValidationParameters = tokens.Validation();
            // Only here may a token come in the URL: EventSource cannot send headers, and this token is short-lived and single-channel.
            bearer.Events = new JwtBearerEvents { OnMessageReceived = context => { context.Token = context.Request.Query["access_token"]; return Task.CompletedTask; } };
        });

        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(CallerBucket);
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await Results.Problem("this caller sends more requests than it may; retry after the time Retry-After says", statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many requests", type: "urn:unbundled:problem:rate-limited").ExecuteAsync(context.HttpContext);
            };
        });

        var server = builder.Configuration.GetSection("Unbundled:Server");
        var origins = server.GetSection("CorsOrigins").Get<string[]>() ?? [];
        if (origins.Length > 0) services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod()));
        var hosts = server.GetSection("AllowedHosts").Get<string[]>() is { Length: > 0 } configured ? configured : DefaultHosts(urls);
        services.Configure<HostFilteringOptions>(filtering =>
        {
            filtering.AllowedHosts = hosts;
            filtering.AllowEmptyHosts = false;
        });
    }

    /// <summary>
    /// Refuses to start on a non-loopback address without authentication unless the operator said
    /// <c>--allow-anonymous</c>; warns once on loopback. Then adds host filtering, CORS and authentication.
    /// </summary>
    public static void UseUnbundledSecurity(this WebApplication app, IReadOnlyList<string> urls)
    {
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Unbundled.Security");
        var exposed = urls.Where(url => !IsLoopback(url)).ToList();
        if (!auth.IsConfigured)
        {
            if (exposed.Count > 0 && !auth.AllowAnonymous)
                throw new InvalidOperationException(
                    $"refusing to serve {string.Join(", ", exposed)} without authentication: anyone who reaches it could read and write every model. " +
                    "Configure Unbundled:Auth (ApiKeys or Jwt; see docs/security.md), or pass --allow-anonymous to accept that.");
            logger.LogWarning("No authentication is configured: every caller that reaches {Urls} may read, write and administer everything", string.Join(", ", urls));
        }
        app.UseHostFiltering();
        if (app.Services.GetService<Microsoft.AspNetCore.Cors.Infrastructure.ICorsService>() is not null) app.UseCors();
        app.UseAuthentication();
        app.UseRateLimiter();
        // Feeds decide through IFeedAuthorizer, which can only refuse (403); an anonymous caller is told to authenticate first.
        var connections = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        app.Use(async (http, next) =>
        {
            if (!http.Request.Path.StartsWithSegments("/feeds"))
            {
                await next(http);
                return;
            }
            if (http.RequestServices.GetRequiredService<AccessGate>().RequireAuthenticated(http) is { } refused)
            {
                await refused.ExecuteAsync(http);
                return;
            }
            // Each authenticated caller holds a bounded number of feed connections, so one cannot exhaust the server's.
            var caller = http.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : null;
            var limit = http.RequestServices.GetRequiredService<IOptionsMonitor<ServerOptions>>().CurrentValue.FeedConnectionsPerCaller;
            if (caller is not null && connections.AddOrUpdate(caller, 1, (_, held) => held + 1) > limit)
            {
                connections.AddOrUpdate(caller, 0, (_, held) => held - 1);
                await Results.Problem($"'{caller}' holds {limit} feed connections already", statusCode: StatusCodes.Status429TooManyRequests,
                    title: "Too many feed connections", type: "urn:unbundled:problem:rate-limited").ExecuteAsync(http);
                return;
            }
            try
            {
                await next(http);
            }
            finally
            {
                if (caller is not null) connections.AddOrUpdate(caller, 0, (_, held) => held - 1);
            }
        });
        app.MapPost("/auth/feed-token", IssueFeedToken)
            .WithSummary("A short-lived token that opens one feed channel, for clients that cannot send headers (EventSource)")
            .Problems(new ProblemType(400, "malformed-request", "the request names no pipeline or channel"));
    }

    private static IResult IssueFeedToken(FeedTokenRequest request, HttpContext http, AccessGate gate, FeedTokens tokens)
    {
        if (gate.RequireAuthenticated(http) is { } anonymous) return anonymous;
        if (string.IsNullOrEmpty(request.Pipeline) || string.IsNullOrEmpty(request.Channel))
            return Results.Problem("name the feed: {\"pipeline\": …, \"channel\": …}", statusCode: StatusCodes.Status400BadRequest,
                title: "Malformed request", type: "urn:unbundled:problem:malformed-request");
        if (gate.Check(http, new AccessRequest(AccessAction.Feed, Pipeline: request.Pipeline, Channel: request.Channel), out var caller) is { } refused) return refused;
        var (token, expires) = tokens.Issue(caller, request.Pipeline, request.Channel);
        return Results.Ok(new { token, expires });
    }

    /// <summary>One token bucket per caller and kind of request (flushes, reads): one caller's flood never spends another's share.</summary>
    private static RateLimitPartition<string> CallerBucket(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IOptionsMonitor<ServerOptions>>().CurrentValue;
        var path = http.Request.Path;
        var (kind, perSecond) = HttpMethods.IsPost(http.Request.Method) && path.StartsWithSegments("/models") ? ("flush", options.FlushesPerSecond)
            : HttpMethods.IsGet(http.Request.Method) && (path.StartsWithSegments("/models") || path.StartsWithSegments("/views") || path.StartsWithSegments("/search")) ? ("read", options.ReadsPerSecond)
            : ("", 0);
        if (perSecond <= 0) return RateLimitPartition.GetNoLimiter("");
        var caller = http.User.Identity is { IsAuthenticated: true, Name: { } name } ? "user:" + name : "ip:" + http.Connection.RemoteIpAddress;
        return RateLimitPartition.GetTokenBucketLimiter($"{kind}|{caller}|{perSecond}", _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond * 2,
            TokensPerPeriod = Math.Max(1, perSecond / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    private static string Select(HttpContext http)
    {
        if (ApiKeyAuthenticationHandler.Carries(http.Request)) return ApiKeyAuthenticationHandler.SchemeName;
        if (http.Request.Query.ContainsKey("access_token") && http.Request.Path.StartsWithSegments("/feeds")) return FeedTokens.SchemeName;
        if (http.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return JwtBearerDefaults.AuthenticationScheme;
        return ApiKeyAuthenticationHandler.SchemeName;
    }

    /// <summary>The hosts of the listening URLs, and the loopback names when one is loopback; a wildcard address allows any host.</summary>
    private static string[] DefaultHosts(IReadOnlyList<string> urls)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var url in urls)
        {
            var host = HostOf(url);
            if (host is "*" or "+" or "0.0.0.0" or "[::]") return ["*"];
            hosts.Add(host);
            if (IsLoopback(url)) hosts.UnionWith(["localhost", "127.0.0.1", "[::1]"]);
        }
        return [.. hosts];
    }

    private static string HostOf(string url)
    {
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..];
        if (rest.StartsWith('[')) return rest[..(rest.IndexOf(']') + 1)];
        var end = rest.IndexOfAny([':', '/']);
        return end < 0 ? rest : rest[..end];
    }

    private static bool IsLoopback(string url)
    {
        var host = HostOf(url).Trim('[', ']');
        return host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var address) && IPAddress.IsLoopback(address));
    }
}

/// <summary>The body of <c>POST /auth/feed-token</c>.</summary>
/// <param name="Pipeline">The push-feed pipeline.</param>
/// <param name="Channel">The channel to follow.</param>
public sealed record FeedTokenRequest(string? Pipeline, string? Channel);

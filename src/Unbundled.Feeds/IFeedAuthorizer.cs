using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Unbundled.Feeds;

/// <summary>Who asks to follow which channel of which feed.</summary>
/// <param name="User">The caller, as authentication left it.</param>
/// <param name="Http">The request (headers, connection) for checks beyond the user.</param>
/// <param name="Pipeline">The push-feed pipeline.</param>
/// <param name="Channel">The channel asked for.</param>
public sealed record FeedAuthorizationContext(ClaimsPrincipal User, HttpContext Http, string Pipeline, string Channel);

/// <summary>Decides whether a caller may follow a channel; register one as a singleton to replace the allow-all default.</summary>
public interface IFeedAuthorizer
{
    /// <summary>True when the caller may read the channel.</summary>
    ValueTask<bool> CanSubscribeAsync(FeedAuthorizationContext context, CancellationToken cancellationToken);
}

/// <summary>The default: everyone may read every channel, which the log says once, since it is rarely what production wants.</summary>
public sealed class AllowAllFeedAuthorizer : IFeedAuthorizer
{
    /// <summary>Creates the default authoriser and warns that it is in use.</summary>
    public AllowAllFeedAuthorizer(ILogger<AllowAllFeedAuthorizer> logger) =>
        logger.LogWarning("No IFeedAuthorizer is registered: every caller may follow every push-feed channel. Register one to restrict who reads what.");

    /// <inheritdoc />
    public ValueTask<bool> CanSubscribeAsync(FeedAuthorizationContext context, CancellationToken cancellationToken) => ValueTask.FromResult(true);
}

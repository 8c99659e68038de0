using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Hosting;

namespace Unbundled.Feeds;

/// <summary>Registers the <c>push-feed</c> connector; map its endpoints with <see cref="FeedEndpoints.MapPushFeeds"/>.</summary>
public static class PushFeedRegistration
{
    /// <summary>Makes <c>connector: push-feed</c> available, with the hub that fans changes out and the default authoriser.</summary>
    public static UnbundledBuilder AddPushFeeds(this UnbundledBuilder unbundled)
    {
        unbundled.Services.AddSingleton<FeedHub>();
        unbundled.Services.AddSingleton<FeedCatalog>();
        unbundled.Services.TryAddSingleton<IFeedAuthorizer, AllowAllFeedAuthorizer>();
        return unbundled.AddSinkConnector(new PushFeedSinkFactory());
    }
}

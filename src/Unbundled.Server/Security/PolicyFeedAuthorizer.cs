using Unbundled.Feeds;

namespace Unbundled.Server.Security;

/// <summary>Feeds ask the same policy point as every other endpoint; a feed token opens only the channel it names.</summary>
public sealed class PolicyFeedAuthorizer(AccessGate gate) : IFeedAuthorizer
{
    /// <inheritdoc />
    public ValueTask<bool> CanSubscribeAsync(FeedAuthorizationContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(gate.Check(context.Http, new AccessRequest(AccessAction.Feed, Pipeline: context.Pipeline, Channel: context.Channel)) is null);
}

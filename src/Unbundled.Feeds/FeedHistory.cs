using System.Runtime.CompilerServices;
using Unbundled.Pipelines.Replay;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Feeds;

/// <summary>
/// A feed's past, derived again from the pipeline's source: the records in a stretch of offsets go
/// through the pipeline's own filter and projection, and the documents whose channel matches are the
/// messages a subscriber missed. Nothing is kept in memory between subscribers, so a catch-up is the
/// same after a restart or on another instance.
/// </summary>
public sealed class FeedHistory(IPipelineReplay replay, string pipeline, KeyTemplate channels, string? ownerField)
{
    /// <summary>The messages of <paramref name="channel"/> at offsets after <paramref name="after"/> up to <paramref name="until"/>, in order.</summary>
    public async IAsyncEnumerable<FeedMessage> ReadAsync(string channel, long after, long until,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var document in replay.ReplayAsync(pipeline, after, until, cancellationToken).ConfigureAwait(false))
        {
            if (channels.Render(document, out _) == channel) yield return FeedMessage.Change(channel, document, ownerField);
        }
    }

    /// <summary>Whether the past can be derived again at all: a consumer group's source keeps its own position and cannot go back.</summary>
    public Task<bool> CanReplayAsync(CancellationToken cancellationToken) => replay.CanReplayAsync(pipeline, cancellationToken);

    /// <summary>The newest offset of the pipeline's source: where a subscriber that names none starts.</summary>
    public Task<long> ReadHeadAsync(CancellationToken cancellationToken) => replay.ReadHeadAsync(pipeline, cancellationToken);

    /// <summary>The offset at which a model reached a version, for subscribers that hold the model at that version.</summary>
    public Task<long?> OffsetOfVersionAsync(string type, string id, long version, CancellationToken cancellationToken) =>
        replay.OffsetOfVersionAsync(pipeline, type, id, version, cancellationToken);
}

using System.Text.Json.Nodes;
using Unbundled.Pipelines.Replay;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Feeds;

/// <summary>
/// The sink of a push-feed pipeline: it hands each batch's documents to the subscribers of their
/// channels in this process. It keeps no history (a subscriber catches up by replaying the pipeline's
/// source), so after a restart it starts live at the source's head; every server instance runs its own,
/// which makes the shared source the backplane between instances.
/// </summary>
public sealed class PushFeedSink(FeedTopic topic, PushFeedOptions options, KeyTemplate channels, IPipelineReplay replay, string? ownerField = null) : IPassThroughSink
{
    private long _start;

    /// <inheritdoc />
    /// <remarks>True, so that the worker starts where the sink says: live, at the source's head.</remarks>
    public bool KeepsOffset => true;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        _start = await replay.ReadHeadAsync(topic.Pipeline, cancellationToken).ConfigureAwait(false);
        topic.Start(_start, options.Heartbeat);
    }

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) => Task.FromResult(_start);

    /// <inheritdoc />
    public Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var messages = new List<FeedMessage>(batch.Documents.Count);
        List<SinkRejection>? rejected = null;
        foreach (var document in batch.Documents)
        {
            if (channels.Render(document, out var missing) is { } channel) messages.Add(FeedMessage.Change(channel, document, ownerField));
            else (rejected ??= []).Add(new SinkRejection(document, $"the channel template '{options.Channel}' needs the field '{missing}', which the document lacks or holds no scalar in"));
        }
        topic.Publish(messages, batch.Offset);
        return Task.FromResult(rejected is null ? SinkBatchResult.Success : new SinkBatchResult(rejected));
    }

    /// <inheritdoc />
    /// <remarks>A feed holds no documents to read: it only passes them on.</remarks>
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken) => Task.FromResult<JsonObject?>(null);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

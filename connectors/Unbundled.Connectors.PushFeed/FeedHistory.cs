using System.Runtime.CompilerServices;
using Unbundled.Log;
using Unbundled.Pipelines.Events;
using Unbundled.Pipelines.Workers;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.PushFeed;

/// <summary>
/// A channel's past, derived again from the command log: the entries in a stretch of positions go
/// through the pipeline's own filter and projection, and the documents whose channel matches are the
/// messages a subscriber missed. Nothing is kept in memory between subscribers, so a catch-up is the
/// same after a restart or on another instance.
/// </summary>
public sealed class FeedHistory(ICommandLog log, PipelineTransform transform, DocumentKeyTemplate channels)
{
    private const int PageSize = 1000;

    /// <summary>The messages of <paramref name="channel"/> at positions after <paramref name="after"/> up to <paramref name="until"/>, in order.</summary>
    public async IAsyncEnumerable<FeedMessage> ReadAsync(string channel, long after, long until,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var events = new ChangeEventReader(log, transform.Definition.Source.Name, cachedModels: 1000);
        var position = after;
        while (position < until)
        {
            var entries = await log.ReadAsync(position, PageSize, cancellationToken).ConfigureAwait(false);
            if (entries.Count == 0) yield break;
            foreach (var entry in entries)
            {
                if (entry.Position > until) yield break;
                position = entry.Position;
                if (!transform.Reads(entry)) continue;
                foreach (var document in await DeriveAsync(events, entry, cancellationToken).ConfigureAwait(false))
                {
                    if (channels.Render(document, out _) == channel) yield return FeedMessage.Change(channel, document, transform.Definition.Owner);
                }
            }
        }
    }

    /// <summary>The documents of one entry; an entry the pipeline could not derive is in its dead-letter store, and the feed skips it too.</summary>
    private async Task<IReadOnlyList<SinkDocument>> DeriveAsync(ChangeEventReader events, LogEntry entry, CancellationToken cancellationToken)
    {
        ChangeEvent change;
        try
        {
            change = await events.ReadAsync(entry, cancellationToken).ConfigureAwait(false);
            return transform.Admit(change) is { } admitted ? transform.Project(admitted).ToList() : [];
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            return [];
        }
    }
}

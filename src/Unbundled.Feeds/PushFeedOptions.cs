namespace Unbundled.Feeds;

/// <summary>The options of a <c>push-feed</c> sink in pipelines.yaml.</summary>
public sealed class PushFeedOptions
{
    /// <summary>The channel of a document: a template over its top-level fields and <c>{key}</c>, e.g. <c>list:{listId}</c>.</summary>
    public string Channel { get; set; } = "{key}";

    /// <summary>How many messages wait for one subscriber before it is cut off as too slow.</summary>
    public int Buffer { get; set; } = 1000;

    /// <summary>How many log entries behind the end of the log a subscriber may start and still catch up; further behind, it must re-read its snapshot.</summary>
    public long MaxCatchUp { get; set; } = 100_000;

    /// <summary>How long a connection may stay silent before a heartbeat keeps it alive through proxies.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest a catch-up may take; a subscriber that does not read meanwhile is cut off, so stalled sockets cannot hold every catch-up slot.</summary>
    public TimeSpan CatchUpTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

namespace Unbundled.Connectors.Ndjson;

/// <summary>The options of the <c>ndjson</c> sink, bound from its block in pipelines.yaml.</summary>
public sealed class NdjsonFileOptions
{
    /// <summary>The directory that holds the view's files; <c>{pipeline}</c> is replaced by the pipeline's name.</summary>
    public string Directory { get; set; } = "views/{pipeline}";

    /// <summary>The journal size, in bytes, past which it is folded into the snapshot after a write.</summary>
    public long CompactAfterBytes { get; set; } = 64L * 1024 * 1024;
}

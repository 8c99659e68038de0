namespace Unbundled.Connectors.Ndjson;

/// <summary>The options of an <c>ndjson</c> sink in pipelines.yaml.</summary>
public sealed class NdjsonFileOptions
{
    /// <summary>The folder holding the view's journal; <c>{pipeline}</c> is replaced by the pipeline's name.</summary>
    public string Directory { get; set; } = "views/{pipeline}";

    /// <summary>Whether each batch is flushed to the disk before it counts as written (off: faster, but a power cut may lose the last batches).</summary>
    public bool Fsync { get; set; } = true;
}

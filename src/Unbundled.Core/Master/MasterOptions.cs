namespace Unbundled.Master;

/// <summary>Limits and tuning of the master model (section <c>Unbundled:Master</c>).</summary>
public sealed class MasterOptions
{
    /// <summary>Most commands one flush may carry; more is refused as too large.</summary>
    public int MaxCommandsPerFlush { get; set; } = 1000;

    /// <summary>
    /// A snapshot is stored whenever a model's version crosses a multiple of this. Writing the whole
    /// document costs as much as many commands, so a larger interval appends faster; loading a model
    /// replays at most this many commands after its snapshot.
    /// </summary>
    public int SnapshotEvery { get; set; } = 1000;

    /// <summary>How many models' states the master keeps in memory.</summary>
    public int CachedModels { get; set; } = 10_000;

    /// <summary>How often a flush is retried when another process wrote the same model first.</summary>
    public int MaxConflictRetries { get; set; } = 20;

    /// <summary>Deepest nesting a model document may reach; System.Text.Json reads 64 by default, so this stays well inside.</summary>
    public int MaxDocumentDepth { get; set; } = 32;

    /// <summary>Largest model document, in bytes of JSON, a flush may leave behind.</summary>
    public int MaxDocumentBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most model appends written together in one log transaction (group commit).</summary>
    public int MaxAppendsPerTransaction { get; set; } = 64;
}

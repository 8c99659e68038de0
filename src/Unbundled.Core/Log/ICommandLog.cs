using Unbundled.Model;

namespace Unbundled.Log;

/// <summary>
/// The append-only command log, single source of truth. Positions are global, start at 1 and have
/// no gaps in the order readers see them: when a reader sees position p, every position below p is
/// already visible, so a tailing reader never skips an entry.
/// </summary>
public interface ICommandLog
{
    /// <summary>Creates the log's tables when missing; safe to call at every start.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends all <paramref name="appends"/> in one atomic transaction (each to a different model),
    /// in the given order. Throws <see cref="ConcurrencyConflictException"/> naming the first model
    /// that is no longer at its expected version; then nothing was written.
    /// </summary>
    Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken);

    /// <summary>Up to <paramref name="maxCount"/> entries after <paramref name="afterPosition"/>, in position order.</summary>
    Task<IReadOnlyList<LogEntry>> ReadAsync(long afterPosition, int maxCount, CancellationToken cancellationToken);

    /// <summary>The position of the newest entry (0 for an empty log).</summary>
    Task<long> ReadHeadAsync(CancellationToken cancellationToken);

    /// <summary>The model's current version and its newest stored snapshot (which may be older than the version).</summary>
    Task<StoredModel> ReadModelAsync(ModelKey model, CancellationToken cancellationToken);

    /// <summary>The model's entries with a version above <paramref name="afterVersion"/>, in order.</summary>
    Task<IReadOnlyList<LogEntry>> ReadModelEntriesAsync(ModelKey model, long afterVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when entries after <paramref name="afterPosition"/> may exist: at once if they do, else
    /// when an append is signalled (never by polling alone). May complete early; callers read again.
    /// </summary>
    Task WaitForEntriesAsync(long afterPosition, CancellationToken cancellationToken);
}

/// <summary>A model as the log knows it: its version, the position of its last entry and its newest stored snapshot.</summary>
/// <param name="Model">The model.</param>
/// <param name="Version">Its current version (0: no command yet).</param>
/// <param name="LastPosition">The log position of its newest entry (0: none).</param>
/// <param name="Snapshot">Its newest stored snapshot, possibly older than <paramref name="Version"/>; null when none.</param>
public sealed record StoredModel(ModelKey Model, long Version, long LastPosition, ModelSnapshot? Snapshot);

using System.Text.Json;
using Unbundled.Log;
using Unbundled.Sdk.Sources;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// The command log as a source: offsets are log positions, each entry becomes a change event with the
/// model's whole document before and after it, and the version guarding sink writes is the model's
/// version. Entries of other model types are skipped, but the batch's offset passes them.
/// </summary>
public sealed class CommandLogSource(ICommandLog log, IReadOnlyCollection<string> models, string sourceName, int cachedModels = 10_000, string? itemsField = null,
    bool copyStatesAsMade = true)
    : ISourceConnector, IVersionedSource
{
    private readonly HashSet<string> _models = models.ToHashSet(StringComparer.Ordinal);
    private readonly ChangeEventReader _events = new(log, sourceName, cachedModels, itemsField, copyStatesAsMade);

    /// <inheritdoc />
    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
    {
        var entries = await log.ReadAsync(afterOffset, maxCount, cancellationToken).ConfigureAwait(false);
        if (entries.Count == 0) return SourceBatch.Empty(afterOffset);
        var records = new List<SourceRecord>(entries.Count);
        foreach (var entry in entries)
        {
            if (_models.Count > 0 && !_models.Contains(entry.Model.Type)) continue;
            try
            {
                records.Add(SourceRecord.Of(await _events.ReadAsync(entry, cancellationToken).ConfigureAwait(false)));
            }
            catch (Exception error) when (error is not OperationCanceledException)
            {
                records.Add(SourceRecord.Unreadable(entry.Position, entry.Model.Id, Describe(entry), $"{error.GetType().Name}: {error.Message}"));
            }
        }
        return new SourceBatch(records, entries[^1].Position, entries[^1].Timestamp) { MoreAvailable = entries.Count == maxCount };
    }

    /// <inheritdoc />
    public Task WaitAsync(long afterOffset, CancellationToken cancellationToken) => log.WaitForEntriesAsync(afterOffset, cancellationToken);

    /// <inheritdoc />
    public Task<long> ReadHeadAsync(CancellationToken cancellationToken) => log.ReadHeadAsync(cancellationToken);

    /// <inheritdoc />
    /// <remarks>The log keeps everything; nothing is released.</remarks>
    public ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public async Task<long?> OffsetOfVersionAsync(string table, string key, long version, CancellationToken cancellationToken)
    {
        if (version == 0) return 0;
        var entries = await log.ReadModelEntriesAsync(new Model.ModelKey(table, key), version - 1, cancellationToken).ConfigureAwait(false);
        return entries is [var made, ..] && made.Version == version ? made.Position : null;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _events.Dispose();
        return ValueTask.CompletedTask;
    }

    private static string Describe(LogEntry entry) => JsonSerializer.Serialize(new
    {
        position = entry.Position,
        model = new { type = entry.Model.Type, id = entry.Model.Id },
        version = entry.Version,
        command = JsonSerializer.SerializeToNode(entry.Command),
        ts_ms = entry.Timestamp.ToUnixTimeMilliseconds(),
    });
}

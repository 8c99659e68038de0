using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Ndjson.Journal;
using Unbundled.Connectors.Ndjson.View;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Ndjson;

/// <summary>
/// Keeps a pipeline's view as NDJSON files in one directory: <c>changes.ndjson</c>, a journal to which
/// each batch's applied writes and a commit line holding the offset are appended in one synced write,
/// and <c>view.ndjson</c>, a snapshot the journal is folded into when it grows past
/// <see cref="NdjsonFileOptions.CompactAfterBytes"/> and on dispose. Only key → (version, line location)
/// is held in memory; reads fetch the one line the index points at.
/// </summary>
public sealed class NdjsonFileSink(NdjsonFileOptions options, ILogger<NdjsonFileSink> logger) : ISinkConnector
{
    // One gate for writes, reads and compaction: a read must never see a file a compaction is replacing.
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ViewStore? _store;
    private bool _disposed;

    /// <summary>True: the offset is the commit line of each batch, in the same synced write as its documents.</summary>
    public bool KeepsOffset => true;

    /// <summary>Opens the directory, recovering the view and the offset from its files.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try { await OpenStoreAsync(cancellationToken); }
        finally { _gate.Release(); }
    }

    /// <summary>The offset of the last committed batch (0: none).</summary>
    public async Task<long> LoadOffsetAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try { return (await OpenStoreAsync(cancellationToken)).Offset; }
        finally { _gate.Release(); }
    }

    /// <summary>
    /// Appends the writes that pass their version guard and a commit line with the offset (never lower
    /// than the one held), in one synced write. A batch that changes nothing and would not raise the
    /// offset writes nothing.
    /// </summary>
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var store = await OpenStoreAsync(cancellationToken);
            if (store.Offset > 0 && !File.Exists(Path.Combine(options.Directory, ViewStore.JournalFileName)))
            {
                // The files were deleted under the open store: what the directory holds now is the truth.
                await DropStoreAsync();
                var held = (await OpenStoreAsync(cancellationToken)).Offset;
                throw new SinkDataLostException(held, $"the view's files in {options.Directory} were removed");
            }
            var append = new JournalBatch(store.Index);
            foreach (var document in batch.Documents) append.Add(document);
            var result = append.Rejected.Count == 0 ? SinkBatchResult.Success : new SinkBatchResult(append.Rejected);

            var offset = Math.Max(store.Offset, batch.Offset);
            if (append.Entries.Count == 0 && offset == store.Offset) return result;

            try
            {
                await store.AppendAsync(append.Commit(offset), append.Entries, offset, cancellationToken);
            }
            catch (Exception e)
            {
                await DropStoreAsync();
                if (e is IOException) throw new SinkUnavailableException($"Cannot append to the journal in {options.Directory}.", e);
                throw;
            }

            if (store.JournalLength >= options.CompactAfterBytes) await CompactAsync(store, cancellationToken);
            return result;
        }
        finally { _gate.Release(); }
    }

    /// <summary>The current document at <paramref name="key"/>; null when absent or deleted.</summary>
    public async Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var store = await OpenStoreAsync(cancellationToken);
            if (!store.Index.TryGet(key, out var entry) || entry.IsDelete) return null;
            return JournalLine.ReadDocument(await store.ReadLineAsync(entry, cancellationToken));
        }
        finally { _gate.Release(); }
    }

    /// <summary>Folds the journal into the snapshot when it holds anything, then closes the files.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        await _gate.WaitAsync();
        try
        {
            _disposed = true;
            if (_store is { JournalLength: > 0 } store) await CompactAsync(store, CancellationToken.None);
            await DropStoreAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ViewStore> OpenStoreAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_store is not null) return _store;
        try
        {
            _store = await ViewStore.OpenAsync(options.Directory, logger, cancellationToken);
        }
        catch (IOException e)
        {
            throw new SinkUnavailableException($"Cannot open the view in {options.Directory}.", e);
        }
        logger.LogInformation("Opened the view in {Directory}: {Keys} keys, offset {Offset}", options.Directory, _store.Index.Count, _store.Offset);
        return _store;
    }

    // The batch is already committed when this runs, so a failed compaction must not fail it: the files
    // still hold everything, and the next call reopens them as a restart would.
    private async Task CompactAsync(ViewStore store, CancellationToken cancellationToken)
    {
        try
        {
            await store.CompactAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            logger.LogWarning(e, "Compacting the view in {Directory} failed; the journal keeps the writes", options.Directory);
            await DropStoreAsync();
        }
    }

    private async Task DropStoreAsync()
    {
        if (_store is null) return;
        var store = _store;
        _store = null;
        await store.DisposeAsync();
    }
}

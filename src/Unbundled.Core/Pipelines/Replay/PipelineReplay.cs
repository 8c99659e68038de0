using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Unbundled.Pipelines.Replay;

/// <summary>
/// Replays through a fresh reader of the pipeline's source and the pipeline's own transform. Records the
/// pipeline could not derive are in its dead-letter store; a replay skips them too.
/// </summary>
internal sealed class PipelineReplay(PipelineCatalog pipelines, IServiceProvider services) : IPipelineReplay, IAsyncDisposable
{
    private const int PageSize = 1000;

    // One connected reader per pipeline answers heads and version lookups, which keep no reading state.
    private readonly ConcurrentDictionary<string, Lazy<Task<ISourceConnector>>> _lookups = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async IAsyncEnumerable<SinkDocument> ReplayAsync(string pipeline, long after, long until, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var transform = Require(pipeline);
        await using var source = Open(transform);
        await source.ConnectAsync(cancellationToken).ConfigureAwait(false);
        var offset = after;
        while (offset < until)
        {
            var batch = await source.ReadAsync(offset, PageSize, cancellationToken).ConfigureAwait(false);
            if (batch.Offset <= offset) yield break;
            foreach (var record in batch.Records)
            {
                if (record.Offset > until) yield break;
                foreach (var document in Derive(transform, record)) yield return document;
            }
            offset = batch.Offset;
        }
    }

    /// <inheritdoc />
    /// <remarks>An aggregating or joining pipeline cannot either: a stretch of its source gives members or documents, not the groups they were in or the rows they embedded then.</remarks>
    public async Task<bool> CanReplayAsync(string pipeline, CancellationToken cancellationToken) =>
        Require(pipeline).Definition is { Aggregate: null, Join: null } && !(await LookupAsync(pipeline).ConfigureAwait(false)).KeepsPosition;

    /// <inheritdoc />
    public async Task<long> ReadHeadAsync(string pipeline, CancellationToken cancellationToken) =>
        await (await LookupAsync(pipeline).ConfigureAwait(false)).ReadHeadAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task<long?> OffsetOfVersionAsync(string pipeline, string table, string key, long version, CancellationToken cancellationToken) =>
        await LookupAsync(pipeline).ConfigureAwait(false) is IVersionedSource versioned
            ? await versioned.OffsetOfVersionAsync(table, key, version, cancellationToken).ConfigureAwait(false)
            : null;

    /// <inheritdoc />
    public async Task<IReadOnlyDictionary<string, string>?> DescribeSourceAsync(string pipeline, CancellationToken cancellationToken) =>
        await LookupAsync(pipeline).ConfigureAwait(false) is IDescribedSource described
            ? await described.DescribeAsync(cancellationToken).ConfigureAwait(false)
            : null;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var lookup in _lookups.Values.Where(l => l.IsValueCreated && l.Value.IsCompletedSuccessfully))
            await lookup.Value.Result.DisposeAsync().ConfigureAwait(false);
    }

    private static IReadOnlyList<SinkDocument> Derive(PipelineTransform transform, SourceRecord record)
    {
        if (record.Change is not { } change) return [];
        try
        {
            return transform.Admit(change) is { } admitted ? transform.Project(admitted, changesOnly: false) : [];
        }
        catch (Exception error) when (error is not OperationCanceledException)
        {
            return [];
        }
    }

    private async Task<ISourceConnector> LookupAsync(string pipeline)
    {
        var lookup = _lookups.GetOrAdd(pipeline, name => new(async () =>
        {
            var source = Open(Require(name));
            await source.ConnectAsync(CancellationToken.None).ConfigureAwait(false);
            return source;
        }));
        try
        {
            return await lookup.Value.ConfigureAwait(false);
        }
        catch
        {
            // A source that could not connect now is tried again by the next caller, not remembered as broken.
            _lookups.TryRemove(KeyValuePair.Create(pipeline, lookup));
            throw;
        }
    }

    private PipelineTransform Require(string pipeline) =>
        pipelines.Find(pipeline) ?? throw new ArgumentException($"No pipeline is named '{pipeline}'.", nameof(pipeline));

    private ISourceConnector Open(PipelineTransform transform)
    {
        var definition = transform.Definition;
        return definition.Source.Connector.Create(definition.Source.Options, new Sdk.Sources.SourceContext(definition.Name, definition.Source.Name, services) { Lookup = true });
    }
}

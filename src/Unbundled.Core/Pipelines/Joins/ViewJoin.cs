using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.Offsets;
using Unbundled.Pipelines.Projection;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Joins;

/// <summary>
/// Joins a batch's documents with the rows of the joined table, through the join store, for one joining pipeline.
/// Each joined document goes out at its own revision, which grows whenever it or its row changes, so sinks stay
/// version-guarded; documents the store has not seen written (a crash between the store and the sink) go out again.
/// </summary>
internal sealed class ViewJoin
{
    private readonly JoinDefinition _definition;
    private readonly IJoinStore _store;
    private readonly string _pipeline;
    private readonly Func<ChangeEvent, string?> _on;
    // Per generation as this run writes it: the documents answered and not yet written. A generation this run has not
    // applied to yet asks the store for every unwritten document, so what a crash or another owner left is found once.
    private readonly ConditionalWeakTable<ViewTarget, HashSet<string>> _handedOut = [];

    public ViewJoin(JoinDefinition definition, IJoinStore store, string pipeline)
    {
        (_definition, _store, _pipeline) = (definition, store, pipeline);
        if (!EventPath.TryParseTemplate(definition.On, isKey: true, out _on, out var error)) throw new ArgumentException(error, nameof(definition));
    }

    /// <summary>Whether <paramref name="change"/> is a row of the joined table rather than a change the projection derives from.</summary>
    public bool IsRow(ChangeEvent change) => string.Equals(change.Source.Table, _definition.Table, StringComparison.Ordinal);

    /// <summary>The row a change of the joined table leaves (none after a delete).</summary>
    public static JoinedRow Row(ChangeEvent change) => new(change.Key, change.Source.Version, change.Op == ChangeOp.Delete ? null : change.After as JsonObject);

    /// <summary>The documents to write, joined, up to offset <paramref name="reached"/>.</summary>
    public async Task<(List<SinkDocument> Documents, IReadOnlyList<JoinedWrite> Writes)> ApplyAsync(ViewTarget target, IReadOnlyList<SinkDocument> documents,
        IReadOnlyList<JoinedRow> rows, IReadOnlyDictionary<long, ChangeEvent> origins, long reached, CancellationToken cancellationToken)
    {
        var joined = documents.Select(d => new JoinedDocument(d.Key, d.Version,
            d.Document is { } document ? _on(origins[d.Position] with { Key = d.Key, After = document, Before = null }) : null, d.Document, d.IsDelete)).ToList();
        var handedOut = _handedOut.TryGetValue(target, out var pending) ? pending : null;
        IReadOnlyList<JoinedWrite> writes;
        try
        {
            writes = await _store.ApplyAsync(ViewOf(target), joined, rows, Join, handedOut, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // The store may have marked documents it could not answer: the next apply reads every unwritten one.
            _handedOut.Remove(target);
            throw;
        }
        _handedOut.GetValue(target, _ => new HashSet<string>(StringComparer.Ordinal)).UnionWith(writes.Select(w => w.Key));
        var output = writes.Select(w => w.IsDelete
            ? SinkDocument.Delete(w.Key, w.Revision, reached, w.Document)
            : SinkDocument.Upsert(w.Key, w.Revision, reached, w.Document!)).ToList();
        return (output, writes);
    }

    /// <summary>Notes that the view holds <paramref name="writes"/>.</summary>
    public async Task WrittenAsync(ViewTarget target, IReadOnlyList<JoinedWrite> writes, CancellationToken cancellationToken)
    {
        await _store.WrittenAsync(ViewOf(target), writes, cancellationToken).ConfigureAwait(false);
        if (_handedOut.TryGetValue(target, out var pending)) pending.ExceptWith(writes.Select(w => w.Key));
    }

    /// <summary>
    /// Hands documents out again at the next apply: <paramref name="keys"/> (the sink refused them), or every one when null
    /// (the view's store lost its data); answers how many it marked.
    /// </summary>
    public async Task<int> ResendAsync(ViewTarget target, IReadOnlyList<string>? keys, CancellationToken cancellationToken)
    {
        var marked = await _store.ResendAsync(ViewOf(target), keys, cancellationToken).ConfigureAwait(false);
        // Every document is unwritten now: the next apply reads them all.
        if (keys is null) _handedOut.Remove(target);
        // Looked up at the next apply; with no set yet, that apply reads every unwritten document anyway. A key the store
        // does not hold stays out, or every later batch would look it up again.
        else if (marked > 0 && _handedOut.TryGetValue(target, out var pending)) pending.UnionWith(keys);
        return marked;
    }

    /// <summary>Forgets a retired generation's documents and rows.</summary>
    public async Task DropAsync(ViewTarget retired, CancellationToken cancellationToken)
    {
        await _store.DropAsync(ViewOf(retired), cancellationToken).ConfigureAwait(false);
        _handedOut.Remove(retired);
    }

    private JsonObject Join(JsonObject document, JsonObject? row)
    {
        var joined = document.DeepClone().AsObject();
        joined[_definition.As] = row?.DeepClone();
        return joined;
    }

    private string ViewOf(ViewTarget target) => ViewOffset.NameOf(_pipeline, target.Generation);
}

using System.Text.Json.Nodes;

namespace Unbundled.Pipelines.Joins;

/// <summary>
/// Where joining views keep both sides, beside the command log in the same database: each document as the projection
/// derived it (with the key of the row it embeds) and each row of the joined table, with their versions; and per
/// document a revision and whether the view has its newest form yet.
/// </summary>
public interface IJoinStore
{
    /// <summary>
    /// Applies <paramref name="documents"/> and <paramref name="rows"/> to <paramref name="view"/> in one transaction, each only
    /// when newer than what is kept, and answers the documents the view does not hold in their newest form, each joined with
    /// <paramref name="join"/>: with <paramref name="handedOut"/> null, every one (a crash may have kept some from the view);
    /// else those of this batch's documents and rows, and those of <paramref name="handedOut"/> (answered before, not yet written).
    /// </summary>
    Task<IReadOnlyList<JoinedWrite>> ApplyAsync(string view, IReadOnlyList<JoinedDocument> documents, IReadOnlyList<JoinedRow> rows,
        Func<JsonObject, JsonObject?, JsonObject> join, IReadOnlyCollection<string>? handedOut, CancellationToken cancellationToken);

    /// <summary>Notes that the view holds these documents at these revisions.</summary>
    Task WrittenAsync(string view, IReadOnlyList<JoinedWrite> written, CancellationToken cancellationToken);

    /// <summary>
    /// Marks documents as not held by the view: those of <paramref name="keys"/> (the sink refused them), or every one when
    /// null (its store lost its data); answers how many it marked.
    /// </summary>
    Task<int> ResendAsync(string view, IReadOnlyList<string>? keys, CancellationToken cancellationToken);

    /// <summary>Forgets everything of <paramref name="view"/> (a retired generation).</summary>
    Task DropAsync(string view, CancellationToken cancellationToken);
}

/// <summary>
/// A document as the projection derived it, and the key of the row it embeds; a deleted one (<paramref name="IsDelete"/>)
/// carries its last derived form when known, since a sink's key template renders deletes from it too.
/// </summary>
public sealed record JoinedDocument(string Key, long Version, string? RowKey, JsonObject? Document, bool IsDelete = false);

/// <summary>A row of the joined table as a change left it (null: deleted).</summary>
public sealed record JoinedRow(string Key, long Version, JsonObject? Row);

/// <summary>A document to write with its row embedded, or to delete (<paramref name="IsDelete"/>, with its last form when known), at the document's revision.</summary>
public sealed record JoinedWrite(string Key, long Revision, JsonObject? Document, bool IsDelete = false);

using System.Text.Json.Nodes;

namespace Unbundled.Sdk.Sinks;

/// <summary>A sink whose view answers full-text queries (served by the server as <c>GET /search/{pipeline}?q=…</c>).</summary>
public interface ISearchableSink
{
    /// <summary>
    /// A page of the documents matching the request's query, best first. The request's filter must be
    /// applied inside the query, so that totals and pages never count a document the caller may not see.
    /// </summary>
    Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken);
}

/// <summary>One search: the query in the sink's own syntax, the page, and who may see what.</summary>
/// <param name="Query">The query.</param>
/// <param name="Limit">Most hits on the page.</param>
/// <param name="From">Hits to skip before the page.</param>
/// <param name="Filter">Only documents this admits count and come back.</param>
public sealed record SearchRequest(string Query, int Limit = 10, int From = 0, DocumentFilter? Filter = null);

/// <summary>Admits only documents whose top-level <paramref name="Field"/> holds exactly <paramref name="Value"/> (a tenant, an owner).</summary>
public sealed record DocumentFilter(string Field, string Value)
{
    /// <summary>Whether a document passes the filter.</summary>
    public bool Admits(JsonObject? document) => OwnerOf(document, Field) == Value;

    /// <summary>The string a document holds in its owner field <paramref name="field"/>, if any.</summary>
    public static string? OwnerOf(JsonObject? document, string field) =>
        document?[field] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
}

/// <summary>The answer to a search: how many documents matched, and the best of them.</summary>
public sealed record SearchResult(long Total, IReadOnlyList<SearchHit> Hits);

/// <summary>One matching document with its relevance score.</summary>
public sealed record SearchHit(string Key, double Score, JsonObject Document);

/// <summary>A query the sink cannot parse; the read API answers it with a 400 problem.</summary>
public sealed class InvalidQueryException(string message, Exception? inner = null) : Exception(message, inner);

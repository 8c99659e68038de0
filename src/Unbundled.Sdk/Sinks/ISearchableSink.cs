using System.Text.Json.Nodes;

namespace Unbundled.Sdk.Sinks;

/// <summary>A sink whose view answers full-text queries (served by the server as <c>GET /search/{pipeline}?q=…</c>).</summary>
public interface ISearchableSink
{
    /// <summary>The best <paramref name="limit"/> documents matching <paramref name="query"/>, in the sink's own query syntax.</summary>
    Task<SearchResult> SearchAsync(string query, int limit, CancellationToken cancellationToken);
}

/// <summary>The answer to a search: how many documents matched, and the best of them.</summary>
public sealed record SearchResult(long Total, IReadOnlyList<SearchHit> Hits);

/// <summary>One matching document with its relevance score.</summary>
public sealed record SearchHit(string Key, double Score, JsonObject Document);

/// <summary>A query the sink cannot parse; the read API answers it with a 400 problem.</summary>
public sealed class InvalidQueryException(string message, Exception? inner = null) : Exception(message, inner);

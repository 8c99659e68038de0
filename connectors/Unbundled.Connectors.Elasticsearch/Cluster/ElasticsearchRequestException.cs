namespace Unbundled.Connectors.Elasticsearch.Cluster;

/// <summary>Elasticsearch refused a request for good (a 4xx other than 429).</summary>
public sealed class ElasticsearchRequestException(int status, string message) : Exception(message)
{
    /// <summary>The HTTP status.</summary>
    public int Status { get; } = status;
}

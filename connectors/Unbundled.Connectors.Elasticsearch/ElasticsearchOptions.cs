namespace Unbundled.Connectors.Elasticsearch;

/// <summary>The options of an <c>elasticsearch</c> sink in pipelines.yaml.</summary>
public sealed class ElasticsearchOptions
{
    /// <summary>The cluster's URL (<c>https://…</c> for TLS).</summary>
    public string Url { get; set; } = "http://127.0.0.1:9200";

    /// <summary>The index (or alias) the view lives in; <c>{pipeline}</c> is replaced by the pipeline's name.</summary>
    public string Index { get; set; } = "{pipeline}";

    /// <summary>An API key (the base64 "id:key" form), sent as <c>Authorization: ApiKey …</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A user for basic authentication.</summary>
    public string? Username { get; set; }

    /// <summary>The basic authentication password.</summary>
    public string? Password { get; set; }

    /// <summary>Index settings and mappings as the JSON body of a create-index request; empty: dynamic mapping.</summary>
    public string? Definition { get; set; }

    /// <summary>Most documents in one bulk request; larger batches are split.</summary>
    public int BulkSize { get; set; } = 500;

    /// <summary>How long Elasticsearch may collect hits for one search before it answers with what it has.</summary>
    public TimeSpan SearchTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Accept any TLS certificate (development clusters with self-signed certificates only).</summary>
    public bool InsecureSkipVerify { get; set; }
}

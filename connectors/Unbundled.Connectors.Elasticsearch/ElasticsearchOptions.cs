namespace Unbundled.Connectors.Elasticsearch;

/// <summary>The options of an <c>elasticsearch</c> sink in pipelines.yaml.</summary>
public sealed class ElasticsearchOptions
{
    /// <summary>The node <see cref="Url"/> names when none is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:9200";

    /// <summary>The cluster's URL (<c>https://…</c> for TLS).</summary>
    public string Url { get; set; } = DefaultUrl;

    /// <summary>Several URLs of one cluster's nodes, used in turn, a failing node skipped until it answers again; replaces <see cref="Url"/>.</summary>
    public List<string> Nodes { get; set; } = [];

    /// <summary>The index (or alias) the view lives in; <c>{pipeline}</c> is replaced by the pipeline's name.</summary>
    public string Index { get; set; } = "{pipeline}";

    /// <summary>An API key (the base64 "id:key" form), sent as <c>Authorization: ApiKey …</c>.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A user for basic authentication.</summary>
    public string? Username { get; set; }

    /// <summary>The basic authentication password.</summary>
    public string? Password { get; set; }

    /// <summary>The SHA-256 fingerprint (hex, colons allowed) of the certificate to trust: the cluster's CA, as Elasticsearch prints it on first start, or the node's own.</summary>
    public string? CertificateFingerprint { get; set; }

    /// <summary>Accept any TLS certificate (development clusters with self-signed certificates only).</summary>
    public bool InsecureSkipVerify { get; set; }

    /// <summary>How long one request may take before it counts as failed and the batch is retried.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Index settings and mappings as the JSON body of a create-index request; empty: dynamic mapping.</summary>
    public string? Definition { get; set; }

    /// <summary>Most documents in one bulk request; larger batches are split.</summary>
    public int BulkSize { get; set; } = 500;

    /// <summary>How long Elasticsearch may collect hits for one search before it answers with what it has.</summary>
    public TimeSpan SearchTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

using System.Collections.Concurrent;
using System.Text.Json;
using Elastic.Clients.Elasticsearch;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch;

/// <summary>The <c>elasticsearch</c> sink connector.</summary>
public sealed class ElasticsearchSinkFactory : SinkConnectorFactory<ElasticsearchOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "elasticsearch";

    // One client per cluster, credentials and trust, shared by every pipeline: the client holds the
    // connection pool and the nodes' health, and is meant to live as long as the process.
    private readonly ConcurrentDictionary<ClientKey, ElasticsearchClient> _clients = new();

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "index";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(ElasticsearchOptions options)
    {
        if (options.Nodes.Count == 0 && !IsHttpUrl(options.Url)) yield return ("url", $"'{options.Url}' is not an http or https URL");
        foreach (var node in options.Nodes.Where(node => !IsHttpUrl(node))) yield return ("nodes", $"'{node}' is not an http or https URL");
        if (options.Nodes.Count > 0 && options.Url != ElasticsearchOptions.DefaultUrl) yield return ("nodes", "give the cluster as url or as nodes, not both");
        var schemes = options.Nodes.Where(IsHttpUrl).Select(node => new Uri(node).Scheme).Distinct().ToList();
        if (schemes.Count > 1) yield return ("nodes", "the nodes of one cluster are all http or all https");
        if (options.ApiKey is { Length: > 0 } && options.Username is { Length: > 0 }) yield return ("api-key", "use an API key or a username, not both");
        if (options.Password is { Length: > 0 } && options.Username is not { Length: > 0 }) yield return ("password", "a password needs a username");
        if (options.CertificateFingerprint is { Length: > 0 } fingerprint)
        {
            if (!IsSha256(ElasticsearchClients.NormalizeFingerprint(fingerprint)))
                yield return ("certificate-fingerprint", "it must be a SHA-256 fingerprint: 64 hex digits, colons allowed (openssl x509 -fingerprint -sha256)");
            if (options.InsecureSkipVerify) yield return ("certificate-fingerprint", "pin a certificate or skip verification, not both");
            if (!UsesHttps(options)) yield return ("certificate-fingerprint", "it only applies to https URLs");
        }
        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(10)) yield return ("request-timeout", "it must be more than 0 and at most 10m");
        if (options.BulkSize is < 1 or > 10_000) yield return ("bulk-size", "it must be from 1 to 10000");
        if (options.Definition is { Length: > 0 } definition && !IsJsonObject(definition)) yield return ("definition", "it must be a JSON object with settings and/or mappings");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(ElasticsearchOptions options, SinkContext context)
    {
        var client = _clients.GetOrAdd(ClientKey.Of(options), _ => ElasticsearchClients.Create(options));
        return new ElasticsearchSink(context.Pipeline, options, client, context.Generation);
    }

    private static bool IsHttpUrl(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https";

    private static bool UsesHttps(ElasticsearchOptions options) =>
        (options.Nodes.Count > 0 ? options.Nodes : [options.Url]).All(url => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase));

    private static bool IsSha256(string hex) => hex.Length == 64 && hex.All(char.IsAsciiHexDigit);

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>What makes two sinks' clients interchangeable: the same nodes, credentials, trust and timeout.</summary>
    private sealed record ClientKey(string Nodes, string? ApiKey, string? Username, string? Password, string? Fingerprint, bool InsecureSkipVerify, TimeSpan RequestTimeout)
    {
        public static ClientKey Of(ElasticsearchOptions options) => new(
            string.Join(' ', ElasticsearchClients.NodesOf(options)), options.ApiKey, options.Username, options.Password,
            options.CertificateFingerprint, options.InsecureSkipVerify, options.RequestTimeout);
    }
}

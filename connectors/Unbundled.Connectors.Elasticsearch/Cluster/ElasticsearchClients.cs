using Elastic.Clients.Elasticsearch;
using Elastic.Transport;

namespace Unbundled.Connectors.Elasticsearch.Cluster;

/// <summary>Builds the official client for a sink's nodes, credentials and TLS trust.</summary>
public static class ElasticsearchClients
{
    /// <summary>A client for <paramref name="options"/>' nodes, authentication, TLS and request timeout.</summary>
    public static ElasticsearchClient Create(ElasticsearchOptions options)
    {
        var nodes = NodesOf(options);
        // One node needs no pool: nothing to fail over to, so no pings and never marked dead (as before the client).
        NodePool pool = nodes.Count == 1 ? new SingleNodePool(nodes[0]) : new StaticNodePool(nodes);
        // The client gzips bodies by default; a bulk body is written to be cheap, and compressing it
        // would cost more CPU than building it, so requests go as they are (as before the client).
        var settings = new ElasticsearchClientSettings(pool).RequestTimeout(options.RequestTimeout).EnableHttpCompression(false);
        if (options.ApiKey is { Length: > 0 } key) settings.Authentication(new ApiKey(key));
        else if (options.Username is { Length: > 0 } user) settings.Authentication(new BasicAuthentication(user, options.Password ?? ""));
        if (options.CertificateFingerprint is { Length: > 0 } fingerprint) settings.CertificateFingerprint(NormalizeFingerprint(fingerprint));
        else if (options.InsecureSkipVerify) settings.ServerCertificateValidationCallback(CertificateValidations.AllowAll);
        return new ElasticsearchClient(settings);
    }

    /// <summary>The nodes a sink talks to: <see cref="ElasticsearchOptions.Nodes"/> when given, else its one <see cref="ElasticsearchOptions.Url"/>.</summary>
    internal static IReadOnlyList<Uri> NodesOf(ElasticsearchOptions options) =>
        (options.Nodes.Count > 0 ? options.Nodes : [options.Url]).Select(url => new Uri(url, UriKind.Absolute)).ToList();

    /// <summary>A fingerprint as the transport compares it: hex digits alone, in capitals, as openssl prints them without the colons.</summary>
    internal static string NormalizeFingerprint(string fingerprint) =>
        string.Concat(fingerprint.Where(c => c is not (':' or ' '))).ToUpperInvariant();
}

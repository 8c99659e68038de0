using System.Collections.Concurrent;
using System.Text.Json;
using Unbundled.Connectors.Elasticsearch.Rest;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch;

/// <summary>The <c>elasticsearch</c> sink connector.</summary>
public sealed class ElasticsearchSinkFactory : SinkConnectorFactory<ElasticsearchOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "elasticsearch";

    // One HttpClient per cluster and credentials, shared by every pipeline, as HttpClient intends.
    private readonly ConcurrentDictionary<(string, string?, string?, string?, bool), ElasticsearchRestClient> _clients = new();

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(ElasticsearchOptions options)
    {
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            yield return ("url", $"'{options.Url}' is not an http or https URL");
        if (options.BulkSize is < 1 or > 10_000) yield return ("bulk-size", "it must be from 1 to 10000");
        if (options.ApiKey is { Length: > 0 } && options.Username is { Length: > 0 }) yield return ("api-key", "use an API key or a username, not both");
        if (options.Definition is { Length: > 0 } definition && !IsJsonObject(definition)) yield return ("definition", "it must be a JSON object with settings and/or mappings");
    }

    /// <inheritdoc />
    protected override ISinkConnector Create(ElasticsearchOptions options, SinkContext context)
    {
        var client = _clients.GetOrAdd((options.Url, options.ApiKey, options.Username, options.Password, options.InsecureSkipVerify), _ => ElasticsearchRestClient.Create(options));
        return new ElasticsearchSink(context.Pipeline, options, client, context.Generation);
    }

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
}

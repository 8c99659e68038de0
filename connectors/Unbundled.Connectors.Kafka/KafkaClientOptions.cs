namespace Unbundled.Connectors.Kafka;

/// <summary>What the Kafka sink and source share: where the brokers are and any further client settings.</summary>
public abstract class KafkaClientOptions
{
    /// <summary>The bootstrap servers, <c>host:port[,host:port…]</c>.</summary>
    public string Brokers { get; set; } = "";

    /// <summary>Further librdkafka settings passed as they are (<c>security.protocol</c>, <c>sasl.mechanism</c>, …); they win over the connector's defaults.</summary>
    public Dictionary<string, string> Properties { get; set; } = [];

    /// <summary>The problems of the shared options, as (option, message).</summary>
    internal IEnumerable<(string Option, string Message)> ValidateClient()
    {
        if (string.IsNullOrWhiteSpace(Brokers)) yield return ("brokers", "the bootstrap servers are required (host:port[,host:port…])");
        else if (Brokers.Split(',').FirstOrDefault(b => !IsHostPort(b.Trim())) is { } bad) yield return ("brokers", $"'{bad.Trim()}' is not host:port");
        // Asked of librdkafka itself when the file loads: a misspelt setting would otherwise stop the pipeline only once it starts.
        // Confluent.Kafka's own dotnet.* settings never reach librdkafka.
        foreach (var (name, value) in Properties.Where(p => !p.Key.StartsWith("dotnet.", StringComparison.Ordinal)))
            if (Refusal(name, value) is { } refusal) yield return ("properties", $"'{name}': {refusal}");
    }

    private static string? Refusal(string name, string value)
    {
        try { return Native.Librdkafka.Instance.Refusal(name, value); }
        catch (Exception error) when (error is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException)
        {
            return $"librdkafka could not be loaded to check it: {(error.InnerException ?? error).Message}";
        }
    }

    private static bool IsHostPort(string broker)
    {
        var colon = broker.LastIndexOf(':');
        return colon > 0 && int.TryParse(broker[(colon + 1)..], out var port) && port is > 0 and < 65536;
    }

    /// <summary>The client settings: the connector's own, then <see cref="Properties"/> over them.</summary>
    internal IEnumerable<KeyValuePair<string, string>> ClientConfig(IEnumerable<KeyValuePair<string, string>> defaults) =>
        defaults.Append(new("bootstrap.servers", Brokers)).Concat(Properties)
            .GroupBy(p => p.Key).Select(g => g.Last());
}

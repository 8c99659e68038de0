namespace Unbundled.Server;

/// <summary>HTTP-facing limits and identity settings (section <c>Unbundled:Server</c>).</summary>
public sealed class ServerOptions
{
    /// <summary>Largest flush request body in bytes; larger ones get 413.</summary>
    public long MaxFlushBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// A header that names the caller when no authentication is configured, honoured only from
    /// <see cref="TrustedProxies"/> (anyone else could forge it); null ignores any such header.
    /// </summary>
    public string? TrustedUserHeader { get; set; }

    /// <summary>Addresses of the proxies whose <see cref="TrustedUserHeader"/> is believed.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Host names requests may carry (DNS-rebinding defence); empty: the hosts of the URLs the server listens on.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Origins whose pages may call the API from a browser (CORS); empty: none.</summary>
    public List<string> CorsOrigins { get; set; } = [];

    /// <summary>Flushes one caller may send per second (token bucket, bursts of twice that); 0 turns the limit off.</summary>
    public int FlushesPerSecond { get; set; } = 2000;

    /// <summary>Reads (models, views, search) one caller may send per second; 0 turns the limit off.</summary>
    public int ReadsPerSecond { get; set; } = 5000;

    /// <summary>Feed connections one authenticated caller may hold at once.</summary>
    public int FeedConnectionsPerCaller { get; set; } = 256;
}

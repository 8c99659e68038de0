namespace Unbundled.Server;

/// <summary>HTTP-facing limits and identity settings (section <c>Unbundled:Server</c>).</summary>
public sealed class ServerOptions
{
    /// <summary>Largest flush request body in bytes; larger ones get 413.</summary>
    public long MaxFlushBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// A header that names the caller when no authentication is configured (for a trusted proxy in
    /// front of the server, or demos); null ignores any such header and unauthenticated callers are "anonymous".
    /// </summary>
    public string? TrustedUserHeader { get; set; }
}

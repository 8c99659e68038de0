using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging;

namespace Unbundled.Server.Embedded;

/// <summary>
/// A real RESP server inside the process (Microsoft Garnet, with Lua scripts enabled), so the read
/// cache works with no Redis installed. It keeps its data in memory: after a restart the cache's
/// offsets are gone with its documents, and the pipelines rebuild it from the log.
/// </summary>
public sealed class EmbeddedGarnetServer : IDisposable
{
    private readonly GarnetServer _server;

    /// <summary>Starts Garnet on a free loopback port.</summary>
    public EmbeddedGarnetServer(ILogger<EmbeddedGarnetServer> logger)
    {
        var port = FreePort();
        // Quiet mode (no banner on stdout) has no command-line switch, only a configuration key.
        var quiet = Path.Combine(Path.GetTempPath(), $"unbundled-garnet-{Guid.NewGuid():N}.conf");
        File.WriteAllText(quiet, """{ "QuietMode": true }""");
        try
        {
            _server = new GarnetServer(["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua",
                "--logger-level", "Warning", "--config-import-path", quiet]);
        }
        finally
        {
            File.Delete(quiet);
        }
        _server.Start();
        Connection = $"127.0.0.1:{port}";
        logger.LogInformation("No Redis configured: serving the read cache from embedded Garnet on {Endpoint}", Connection);
    }

    /// <summary>The StackExchange.Redis configuration string that reaches it.</summary>
    public string Connection { get; }

    /// <inheritdoc />
    public void Dispose() => _server.Dispose();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging;

namespace Unbundled.Server.Embedded;

/// <summary>
/// A real RESP server inside the process (Microsoft Garnet, with Lua scripts enabled), so the read
/// cache works with no Redis installed. It keeps its data in memory: after a restart the cache's
/// offsets are gone with its documents, and the pipelines rebuild it from the log. It requires a
/// password generated at start, so other local users and processes cannot read or change the cache.
/// </summary>
public sealed class EmbeddedGarnetServer : IDisposable
{
    private readonly GarnetServer _server;

    /// <summary>Starts Garnet on a free loopback port.</summary>
    public EmbeddedGarnetServer(ILogger<EmbeddedGarnetServer> logger)
    {
        var port = FreePort();
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        // Quiet mode (no banner on stdout) has no command-line switch, only a configuration key.
        var quiet = Path.Combine(Path.GetTempPath(), $"unbundled-garnet-{Guid.NewGuid():N}.conf");
        File.WriteAllText(quiet, """{ "QuietMode": true }""");
        try
        {
            _server = new GarnetServer(["--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--lua", "--lua-transaction-mode", "--auth", "Password", "--password", password,
                "--logger-level", "Warning", "--config-import-path", quiet]);
        }
        finally
        {
            File.Delete(quiet);
        }
        _server.Start();
        Connection = $"127.0.0.1:{port},password={password}";
        logger.LogInformation("No Redis configured: serving the read cache from embedded Garnet on 127.0.0.1:{Port}", port);
    }

    /// <summary>The StackExchange.Redis configuration string that reaches it.</summary>
    public string Connection { get; }

    /// <inheritdoc />
    public void Dispose() => _server.Dispose();

    // Ports come from one counter per process, each checked free, rather than asked of the OS and
    // released: two servers starting together could be told the same port, and one would fail.
    private static int _nextPort = Random.Shared.Next(20_000, 50_000);

    private static int FreePort()
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Interlocked.Increment(ref _nextPort);
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("No free loopback port for the embedded Garnet server.");
    }
}

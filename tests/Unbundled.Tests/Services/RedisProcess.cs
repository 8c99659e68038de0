using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Unbundled.Tests.Services;

/// <summary>A redis-server of a test's own on a given port, which the test kills and restarts like an outage would.</summary>
public static class RedisProcess
{
    /// <summary>
    /// Starts redis-server on <paramref name="port"/> and waits until it accepts connections. With a
    /// <paramref name="persistDirectory"/>, an fsync'd append-only file there survives a kill like a
    /// production Redis; without, a restart comes back empty.
    /// </summary>
    public static Process Start(int port, string? persistDirectory = null)
    {
        string[] persistence = persistDirectory is null
            ? ["--save", "", "--appendonly", "no"]
            : ["--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", persistDirectory];
        var process = Process.Start(new ProcessStartInfo("redis-server", ["--port", port.ToString(), "--bind", "127.0.0.1", .. persistence])
        {
            RedirectStandardOutput = true,
        })!;
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return process;
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }
        throw new InvalidOperationException($"redis-server did not start on port {port}");
    }
}

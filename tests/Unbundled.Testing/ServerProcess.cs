using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
namespace Unbundled.Testing;

/// <summary>The real <c>unbundled run</c> in a process of its own, which a test can kill like a crash would.</summary>
public sealed class ServerProcess : IDisposable
{
    private readonly Process _process;

    private readonly System.Text.StringBuilder _errors;

    private ServerProcess(Process process, Uri address, System.Text.StringBuilder errors)
    {
        _process = process;
        Address = address;
        _errors = errors;
    }

    /// <summary>What the process wrote to standard error so far.</summary>
    public string Errors
    {
        get { lock (_errors) return _errors.ToString(); }
    }

    /// <summary>Asks the process to stop as an operator or a service manager does (SIGTERM) and waits; returns its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()])) await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>The built <c>unbundled</c> command, of the same configuration as the caller (tests run Debug, benchmarks Release).</summary>
    public static string CliPath
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
            return Path.Combine(LocalServices.RepositoryRoot(), "src", "Unbundled.Cli", "bin", configuration, "net10.0", "unbundled.dll");
        }
    }

    /// <summary>The operating system's process id.</summary>
    public int Id => _process.Id;

    /// <summary>Where it listens.</summary>
    public Uri Address { get; }

    /// <summary>Starts the server with <paramref name="settings"/> (<c>--Key=value</c>) and waits until it answers.</summary>
    public static async Task<ServerProcess> StartAsync(int port, IReadOnlyDictionary<string, string> environment, params string[] settings)
    {
        var address = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("dotnet", [CliPath, "run", $"--urls={address}", .. settings])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var (name, value) in environment) start.Environment[name] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the server");
        var errors = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null) return;
            lock (errors) errors.AppendLine(line.Data);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        for (var attempt = 0; attempt < 150; attempt++)
        {
            if (process.HasExited) throw new InvalidOperationException($"the server exited with code {process.ExitCode}");
            try
            {
                if ((await http.GetAsync("/pipelines")).IsSuccessStatusCode) return new ServerProcess(process, address, errors);
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        process.Kill(entireProcessTree: true);
        throw new TimeoutException("the server did not answer within 30 s");
    }

    /// <summary>Kills the process at once (SIGKILL): no shutdown, no flushing, like a crash.</summary>
    public void Kill()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>A free loopback port.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}

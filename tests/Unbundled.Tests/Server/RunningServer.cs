using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Log;
using Unbundled.Server;

namespace Unbundled.Tests.Server;

/// <summary>The real server on a free loopback port, over its own embedded log file, with a client for it.</summary>
public sealed class RunningServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TempDirectory _directory;

    private RunningServer(WebApplication app, TempDirectory directory)
    {
        _app = app;
        _directory = directory;
        Client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };
    }

    /// <summary>A client whose base address is the server.</summary>
    public HttpClient Client { get; }

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The server's command log.</summary>
    public ICommandLog Log => _app.Services.GetRequiredService<ICommandLog>();

    /// <summary>Starts a server; <paramref name="settings"/> are extra <c>--Key=value</c> configuration.</summary>
    public static Task<RunningServer> StartAsync(params string[] settings) => StartAsync(null, settings);

    /// <summary>Starts a server whose services <paramref name="configure"/> may change before it is built.</summary>
    public static async Task<RunningServer> StartAsync(Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var directory = new TempDirectory();
        var app = UnbundledApp.Build([
            "--urls=http://127.0.0.1:0",
            "--Unbundled:Log:Provider=sqlite",
            $"--Unbundled:Log:Sqlite:Path={directory.File("log.db")}",
            // An embedded Garnet of its own, whatever UNBUNDLED_REDIS says: a shared Redis would carry
            // pipeline offsets over from other tests and earlier runs.
            "--Unbundled:Redis:Connection=",
            .. settings], configure, unbundled => unbundled.AddTodoApp());
        await app.StartAsync();
        return new RunningServer(app, directory);
    }

    /// <summary>Starts a server running the pipelines of <paramref name="yaml"/> (written into <paramref name="directory"/>) and waits until all <paramref name="pipelines"/> run.</summary>
    public static Task<RunningServer> StartWithPipelinesAsync(TempDirectory directory, string yaml, int pipelines, params string[] settings) =>
        StartWithPipelinesAsync(directory, yaml, pipelines, null, settings);

    /// <summary>Like <see cref="StartWithPipelinesAsync(TempDirectory, string, int, string[])"/>, with services changed by <paramref name="configure"/>.</summary>
    public static async Task<RunningServer> StartWithPipelinesAsync(TempDirectory directory, string yaml, int pipelines,
        Action<WebApplicationBuilder>? configure, params string[] settings)
    {
        var file = directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(file, yaml);
        var server = await StartAsync(configure, [$"--Unbundled:Pipelines:File={file}", .. settings]);
        await server.WaitForPipelinesAsync(pipelines);
        return server;
    }

    /// <summary>Waits until <paramref name="count"/> pipelines run (their sinks connected, their backlogs done).</summary>
    public async Task WaitForPipelinesAsync(int count)
    {
        // Asked of the monitor, not of /pipelines, which a secured server keeps for administrators.
        var monitor = Services.GetRequiredService<Unbundled.Pipelines.Observability.PipelineMonitor>();
        for (var attempt = 0; attempt < 150; attempt++)
        {
            var states = monitor.Pipelines.Select(p => p.State).ToList();
            if (states.Count == count && states.All(state => state == Unbundled.Pipelines.Observability.PipelineState.Running)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"{count} pipelines did not start within 15 s: {string.Join(", ", monitor.Pipelines.Select(p => $"{p.Pipeline} {p.State} at {p.Offset} of {p.Head} ({p.LastError})"))}");
    }

    /// <summary>Starts a server on the PostgreSQL log in <paramref name="schema"/> and a shared Redis, as instance <paramref name="instance"/> of several.</summary>
    public static Task<RunningServer> StartOnPostgresAsync(string connectionString, string schema, string redis, string instance, string pipelinesFile) => StartAsync(
        "--Unbundled:Log:Provider=postgres", $"--Unbundled:Log:Postgres:ConnectionString={connectionString}", $"--Unbundled:Log:Postgres:Schema={schema}",
        $"--Unbundled:Redis:Connection={redis}", $"--Unbundled:Instance={instance}", $"--Unbundled:Pipelines:File={pipelinesFile}");

    /// <summary>Waits (up to 30 s) until <paramref name="pipeline"/>'s status meets <paramref name="condition"/>; fails with the last status.</summary>
    public async Task WaitForStatusAsync(string pipeline, Func<JsonObject, bool> condition)
    {
        JsonObject? status = null;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            status = await Client.GetFromJsonAsync<JsonObject>($"/pipelines/{pipeline}");
            if (condition(status!)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"timed out; status: {status}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _directory.Dispose();
    }
}

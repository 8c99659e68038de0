using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Browser;

/// <summary>
/// Debian's headless Chromium driven over the Chrome DevTools Protocol: navigate to a page and
/// evaluate JavaScript in it (promises awaited, results returned by value).
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _profile;
    private readonly ClientWebSocket _socket;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonObject>> _calls = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _receiving;
    private int _nextId;

    private HeadlessChromium(Process process, TempDirectory profile, ClientWebSocket socket)
    {
        _process = process;
        _profile = profile;
        _socket = socket;
        _receiving = ReceiveAsync();
    }

    /// <summary>Starts Chromium with one blank page and connects to that page.</summary>
    public static async Task<HeadlessChromium> StartAsync()
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install chromium (.ci/run does it)");
        var profile = new TempDirectory();
        var process = Process.Start(new ProcessStartInfo(executable,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--remote-debugging-port=0", $"--user-data-dir={profile.Path}", "about:blank",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        process.ErrorDataReceived += (_, _) => { };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            var port = await DevToolsPortAsync(profile.File("DevToolsActivePort"), process);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var page = (await http.GetFromJsonAsync<JsonArray>("/json/list"))!.First(t => (string?)t!["type"] == "page")!;
            var socket = new ClientWebSocket();
            await socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), default);
            return new HeadlessChromium(process, profile, socket);
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            profile.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/> and waits until it has loaded.</summary>
    public async Task NavigateAsync(string url)
    {
        await CallAsync("Page.navigate", new JsonObject { ["url"] = url });
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if ((string?)await EvaluateAsync("document.readyState") == "complete" && (string?)await EvaluateAsync("location.href") == url) return;
            await Task.Delay(25);
        }
        throw new TimeoutException($"{url} did not load within 5 s");
    }

    /// <summary>Evaluates <paramref name="expression"/> in the page, awaiting a promise; a JavaScript exception becomes a <see cref="JavaScriptException"/>.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await CallAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["awaitPromise"] = true,
            ["returnByValue"] = true,
        });
        if (result["exceptionDetails"] is JsonObject exception)
            throw new JavaScriptException((string?)exception["exception"]?["description"] ?? (string?)exception["text"] ?? exception.ToJsonString());
        return result["result"]?["value"]?.DeepClone();
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        _socket.Abort();
        await _receiving;
        _socket.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _profile.Dispose();
    }

    private async Task<JsonObject> CallAsync(string method, JsonObject parameters)
    {
        var id = Interlocked.Increment(ref _nextId);
        var answer = new TaskCompletionSource<JsonObject>(TaskCreationOptions.RunContinuationsAsynchronously);
        _calls[id] = answer;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, default);
        var response = await answer.Task.WaitAsync(TimeSpan.FromSeconds(30));
        if (response["error"] is JsonObject error) throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}");
        return response["result"]!.AsObject();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var received = await _socket.ReceiveAsync(buffer, _closing.Token);
                if (received.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, received.Count);
                if (!received.EndOfMessage) continue;
                var parsed = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length))!.AsObject();
                message.SetLength(0);
                // Events (no id) are not needed: navigation is awaited by polling the document.
                if (parsed["id"] is { } id && _calls.TryRemove((int)id, out var call)) call.TrySetResult(parsed);
            }
        }
        catch (Exception error) when (error is OperationCanceledException or WebSocketException)
        {
            // Closing, or Chromium went away; pending calls time out with a clear message.
        }
        foreach (var call in _calls.Values) call.TrySetException(new InvalidOperationException("Chromium closed the DevTools connection"));
    }

    private static async Task<int> DevToolsPortAsync(string file, Process process)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (process.HasExited) throw new InvalidOperationException($"Chromium exited with code {process.ExitCode}");
            if (File.Exists(file) && (await File.ReadAllLinesAsync(file)) is [var port, ..] && int.TryParse(port, out var number)) return number;
            await Task.Delay(50);
        }
        throw new TimeoutException("Chromium did not open its DevTools port within 15 s");
    }
}

/// <summary>A JavaScript exception thrown by code evaluated in the page.</summary>
public sealed class JavaScriptException(string description) : Exception(description);

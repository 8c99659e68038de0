using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using PuppeteerSharp;
using Unbundled.Server;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// The demo page end to end: a todo typed in one window (the Enter of the add form) until it is on the
/// screen of another window showing the same list (the animation frame after the page rendered it), at
/// 10 edits/s across 5 lists, each list open in a writer window and a reader window of two headless
/// Chromium browsers, against the real server running the demo's pipelines.yaml. Both instants are
/// taken in the pages, on the machine's one clock (performance.timeOrigin + performance.now()).
/// </summary>
internal static class DemoEndToEndScenario
{
    private const int BrowserNiceness = 10;

    private const int Lists = 5;
    private const int EditsPerSecond = 10;

    // Installed in each reader: notes the frame in which a todo titled e<sequence> first shows.
    private const string ReaderProbe = """
        window.arrivals = {};
        new MutationObserver(() => {
          for (const title of document.querySelectorAll('#todos li .title')) {
            const match = /^e(\d+)$/.exec(title.textContent);
            if (!match || match[1] in window.arrivals) continue;
            window.arrivals[match[1]] = null;
            requestAnimationFrame(() => { window.arrivals[match[1]] = performance.timeOrigin + performance.now(); });
          }
        }).observe(document.getElementById('todos'), { childList: true, subtree: true, characterData: true });
        true
        """;

    // What a person's Enter in the add form does, and when.
    private const string Type = """
        (sequence) => {
          document.getElementById('text').value = 'e' + sequence;
          const typed = performance.timeOrigin + performance.now();
          document.getElementById('add').requestSubmit();
          return typed;
        }
        """;

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        // Lists grow by 2 todos/s each: 30 s ends near 65 todos a list, under the demo's 100.
        var measured = TimeSpan.FromSeconds(quick ? 15 : 30);
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        try
        {
            var pipelines = Path.Combine(directory.FullName, "pipelines.yaml");
            var yaml = (await File.ReadAllTextAsync(Path.Combine(LocalServices.RepositoryRoot(), "pipelines.yaml")))
                .Replace("${UNBUNDLED_VIEWS:-data/views}", Path.Combine(directory.FullName, "views"), StringComparison.Ordinal);
            await File.WriteAllTextAsync(pipelines, yaml);
            await using var app = UnbundledApp.Build([
                "--urls=http://127.0.0.1:0",
                "--Unbundled:Log:Provider=sqlite",
                $"--Unbundled:Log:Sqlite:Path={Path.Combine(directory.FullName, "log.db")}",
                $"--Unbundled:Pipelines:File={pipelines}",
                "--Unbundled:Redis:Connection=",
                "--Logging:LogLevel:Default=Warning",
            ], application: unbundled => unbundled.AddTodoApp());
            await app.StartAsync();
            var baseUrl = new Uri(app.Urls.First());
            using var http = new HttpClient { BaseAddress = baseUrl };
            for (var list = 0; list < Lists; list++)
            {
                using var created = await http.PostAsJsonAsync($"/models/todo-list/bench-{list}/flush",
                    new { baseVersion = 0, commands = new[] { new { op = "create", path = "", value = new { title = $"Bench {list}", todos = Array.Empty<object>() } } } });
                created.EnsureSuccessStatusCode();
            }

            // Many windows of one browser are tabs; without these flags the ones behind would be throttled.
            string[] foreground = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"];
            // The ten windows stand in for ten people's devices: at a lower priority they cannot starve the server they measure.
            await using var writerBrowser = await Chromium.LaunchAsync(BrowserNiceness, foreground);
            await using var readerBrowser = await Chromium.LaunchAsync(BrowserNiceness, foreground);
            var writers = new IPage[Lists];
            var readers = new IPage[Lists];
            for (var list = 0; list < Lists; list++)
            {
                writers[list] = await OpenAsync(writerBrowser, baseUrl, list);
                readers[list] = await OpenAsync(readerBrowser, baseUrl, list);
                await readers[list].EvaluateExpressionAsync<bool>(ReaderProbe);
            }
            Console.WriteLine($"{Lists} lists open in a writer and a reader window; typing {EditsPerSecond} todos/s for {measured.TotalSeconds:0} s after a 2 s warm-up");

            var typed = new Dictionary<int, double>();
            var warmUp = EditsPerSecond * 2;
            var total = warmUp + (int)(measured.TotalSeconds * EditsPerSecond);
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / EditsPerSecond));
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var started = Stopwatch.StartNew();
            for (var sequence = 0; sequence < total; sequence++)
            {
                await pace.WaitForNextTickAsync();
                // The lists take turns, so each gets 2 edits/s and every window is busy.
                var at = await writers[sequence % Lists].EvaluateFunctionAsync<double>(Type, sequence);
                if (sequence >= warmUp) typed[sequence] = at;
            }
            Console.WriteLine($"cpu of this process {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds / started.Elapsed.TotalSeconds * 100:0}% of one core (the browsers run beside it)");
            await Task.Delay(TimeSpan.FromSeconds(2));

            var arrived = new Dictionary<int, double>();
            var fed = new Dictionary<int, double>();
            var flushed = new Dictionary<int, double>();
            foreach (var writer in writers)
            {
                foreach (var (sequence, at) in JsonNode.Parse(await writer.EvaluateExpressionAsync<string>("JSON.stringify(window.flushed)"))!.AsObject())
                    flushed[int.Parse(sequence, CultureInfo.InvariantCulture)] = (double)at!;
            }
            foreach (var reader in readers)
            {
                foreach (var (sequence, at) in JsonNode.Parse(await reader.EvaluateExpressionAsync<string>("JSON.stringify(window.feedArrivals)"))!.AsObject())
                    fed[int.Parse(sequence, CultureInfo.InvariantCulture)] = (double)at!;
                var arrivals = JsonNode.Parse(await reader.EvaluateExpressionAsync<string>("JSON.stringify(window.arrivals)"))!.AsObject();
                foreach (var (sequence, at) in arrivals)
                {
                    if (at is not null) arrived[int.Parse(sequence, CultureInfo.InvariantCulture)] = (double)at;
                }
            }
            var latencies = typed.Where(t => arrived.ContainsKey(t.Key)).Select(t => arrived[t.Key] - t.Value).Order().ToArray();
            var missing = typed.Count - latencies.Length;
            var toFlushed = typed.Where(t => flushed.ContainsKey(t.Key)).Select(t => flushed[t.Key] - t.Value).Order().ToArray();
            Console.WriteLine($"typed to the flush answered in the writer: p50 {Percentile(toFlushed, 0.5):0.0} ms, p99 {Percentile(toFlushed, 0.99):0.0} ms");
            var toFeed = typed.Where(t => fed.ContainsKey(t.Key)).Select(t => fed[t.Key] - t.Value).Order().ToArray();
            var feedToScreen = typed.Where(t => fed.ContainsKey(t.Key) && arrived.ContainsKey(t.Key)).Select(t => arrived[t.Key] - fed[t.Key]).Order().ToArray();
            Console.WriteLine($"typed to the reader's feed message: p50 {Percentile(toFeed, 0.5):0.0} ms, p99 {Percentile(toFeed, 0.99):0.0} ms; feed message to screen: p50 {Percentile(feedToScreen, 0.5):0.0} ms, p99 {Percentile(feedToScreen, 0.99):0.0} ms");
            var (p50, p99) = (Percentile(latencies, 0.50), Percentile(latencies, 0.99));
            Console.WriteLine($"{typed.Count} todos typed, {latencies.Length} seen in the other window ({missing} never within 2 s); p50 {p50:0.0} ms, p99 {p99:0.0} ms, max {latencies.LastOrDefault():0.0} ms");
            if (missing > 0) throw new InvalidOperationException($"{missing} typed todos never showed in the other window");
            return BenchResult.Latency("demo-e2e", p50, p99, value: p50);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    // Where the time goes, installed in every window before its scripts: when a writer's flush holding
    // e<sequence> was answered, and when a reader's feed message holding it arrived.
    private const string FeedProbe = """
        window.feedArrivals = {};
        window.flushed = {};
        const originalFetch = window.fetch;
        window.fetch = async (url, init) => {
          const response = await originalFetch(url, init);
          if (init?.method === 'POST') {
            const at = performance.timeOrigin + performance.now();
            for (const match of String(init.body).matchAll(/"title":"e(\d+)"/g)) window.flushed[match[1]] ??= at;
          }
          return response;
        };
        const Original = EventSource;
        window.EventSource = class extends Original {
          constructor(...args) {
            super(...args);
            this.addEventListener('change', (event) => {
              const at = performance.timeOrigin + performance.now();
              for (const match of event.data.matchAll(/"title":"e(\d+)"/g)) if (!(match[1] in window.feedArrivals)) window.feedArrivals[match[1]] = at;
            });
          }
        };
        """;

    private static async Task<IPage> OpenAsync(IBrowser browser, Uri baseUrl, int list)
    {
        // A context of its own per window, as a separate browser profile: each window holds two
        // EventSource connections, and a browser allows only six HTTP/1.1 connections to one server.
        var context = await browser.CreateBrowserContextAsync();
        var page = await context.NewPageAsync();
        await page.EvaluateExpressionOnNewDocumentAsync(FeedProbe);
        await page.GoToAsync(new Uri(baseUrl, $"/client/?list=bench-{list}").ToString());
        await page.WaitForExpressionAsync("document.body.dataset.ready !== undefined && window.replica.online === true");
        return page;
    }

    private static double Percentile(double[] sorted, double rank) => sorted.Length == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Length - 1, rank * sorted.Length)];
}

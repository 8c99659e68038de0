using System.Net;
using System.Net.Http.Json;
using PuppeteerSharp;
using Unbundled.Server.Security;
using Unbundled.Testing;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Browser;

/// <summary>
/// The operator's status page in headless Chromium against a real server secured by API keys: it asks
/// for a credential, follows the server's status live, shows each pipeline's figures and sparklines,
/// a sink's refusals as dead letters with their reasons, and replays one from the page. Its screenshot
/// goes to UNBUNDLED_SCREENSHOTS (docs/screenshots for the docs), otherwise to a temporary folder.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class StatusPageTests : IAsyncLifetime
{
    private const string AdminKey = "status-page-admin-key";
    private const string ReaderKey = "status-page-reader-key";
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        // One healthy view, and one whose sink refuses the lists without a code: those become dead letters.
        _server = await RunningServer.StartWithPipelinesAsync(_directory, """
            sources:
              lists:
                models: [todo-list]
            sinks:
              titles:
                connector: redis
                prefix: "status-page:"
              by-code:
                connector: redis
                prefix: "status-page-coded:"
                key: "{code}"
            pipelines:
              list-titles:
                from: lists
                select:
                  fields:
                    title: after.title
                to: titles
              lists-by-code:
                from: lists
                select:
                  fields:
                    code: after.code
                    title: after.title
                to: by-code
            """, 2,
            "--Unbundled:Auth:ApiKeys:0:Name=ops", $"--Unbundled:Auth:ApiKeys:0:Sha256={ApiKeyAuthenticationHandler.Hash(AdminKey)}", "--Unbundled:Auth:ApiKeys:0:Roles:0=admin",
            "--Unbundled:Auth:ApiKeys:1:Name=reader", $"--Unbundled:Auth:ApiKeys:1:Sha256={ApiKeyAuthenticationHandler.Hash(ReaderKey)}", "--Unbundled:Auth:ApiKeys:1:Roles:0=reader");
        _admin = new HttpClient { BaseAddress = _server.Client.BaseAddress };
        _admin.DefaultRequestHeaders.Add("X-Api-Key", AdminKey);
    }

    public async Task DisposeAsync()
    {
        _admin.Dispose();
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task The_feed_is_for_administrators_only()
    {
        using var anonymous = await _server.Client.GetAsync("/status/feed");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
        using var reader = new HttpRequestMessage(HttpMethod.Get, "/status/feed") { Headers = { { "X-Api-Key", ReaderKey } } };
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Client.SendAsync(reader)).StatusCode);
        // The page itself is a shell with no data in it, served to anyone so that it can ask for the credential.
        Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync("/status")).StatusCode);
    }

    [Fact]
    public async Task The_page_follows_the_pipelines_live_shows_dead_letters_with_their_reasons_and_replays_one()
    {
        for (var list = 0; list < 5; list++)
            await FlushAsync($"l{list}", new { title = $"List {list}", code = list < 3 ? $"c{list}" : null, todos = Array.Empty<object>() });
        await _server.WaitForPipelinesAsync(2);

        await using var browser = await Chromium.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1280, Height = 900 });
        await page.GoToAsync(new Uri(_server.Client.BaseAddress!, "/status").ToString());
        // Without a credential the feed answers 401 and the page asks for one.
        await page.WaitUntilAsync("!document.getElementById('login').hidden && document.getElementById('connection').dataset.state === 'refused'");
        await page.TypeAsync("#credential", AdminKey);
        await page.ClickAsync("#login button[type=submit]");
        await page.WaitUntilAsync("document.getElementById('connection').dataset.state === 'live'");

        // The figures are the server's own.
        await page.WaitUntilAsync($"{Card("list-titles")}?.querySelector('.offset').textContent === '5'");
        Assert.Equal("0", (string?)await page.EvaluateJsonAsync($"{Card("list-titles")}.querySelector('.lag').textContent"));
        Assert.Equal("Running", (string?)await page.EvaluateJsonAsync($"{Card("list-titles")}.querySelector('.state').textContent"));
        Assert.Equal("lists (log) → titles (redis) · generation 0", (string?)await page.EvaluateJsonAsync($"{Card("list-titles")}.querySelector('.route').textContent"));
        await page.WaitUntilAsync($"{Card("lists-by-code")}.querySelector('.show-letters').textContent === '2 dead letters'");

        // Live: more flushes show without a reload, and the sparklines draw one point a second.
        for (var list = 5; list < 8; list++) await FlushAsync($"l{list}", new { title = $"List {list}", code = $"c{list}", todos = Array.Empty<object>() });
        await page.WaitUntilAsync($"{Card("list-titles")}.querySelector('.offset').textContent === '8' && {Card("list-titles")}.querySelector('.events').textContent === '8'");
        await page.WaitUntilAsync($"{Card("list-titles")}.querySelector('.rate-spark polyline').getAttribute('points').split(' ').length >= 3");

        // The dead letters, with the sink's reason; a replay through the unchanged definition fails again and the letter stays.
        await ClickAsync(page, "section[data-pipeline='lists-by-code'] .show-letters");
        await page.WaitUntilAsync($"{Card("lists-by-code")}.querySelectorAll('.letters tbody tr').length === 2");
        var reason = (string?)await page.EvaluateJsonAsync($"{Card("lists-by-code")}.querySelector('.letters tbody tr .reason').textContent");
        Assert.Contains("needs the field 'code'", reason);
        var screenshots = Environment.GetEnvironmentVariable("UNBUNDLED_SCREENSHOTS") is { Length: > 0 } folder ? Directory.CreateDirectory(folder).FullName : _directory.Path;
        var screenshot = Path.Combine(screenshots, "status-page.png");
        await page.ScreenshotAsync(screenshot, new ScreenshotOptions { Type = ScreenshotType.Png, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 20_000, "the screenshot is too small to hold the page");

        await ClickAsync(page, "section[data-pipeline='lists-by-code'] .letters tbody tr .replay");
        await page.WaitUntilAsync($"{Card("lists-by-code")}.querySelector('.outcome').textContent === 'replayed: 0 written, 1 failed again'");
        var letters = await _admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/pipelines/lists-by-code/dead-letters");
        Assert.Equal(2, (int)letters!["total"]!);

        // Dropping one from the page removes it from the store and the count follows.
        await ClickAsync(page, "section[data-pipeline='lists-by-code'] .letters tbody tr .drop");
        await page.WaitUntilAsync($"{Card("lists-by-code")}.querySelectorAll('.letters tbody tr').length === 1");
        letters = await _admin.GetFromJsonAsync<System.Text.Json.Nodes.JsonObject>("/pipelines/lists-by-code/dead-letters");
        Assert.Equal(1, (int)letters!["total"]!);

        // A view is rebuilt from the page: a new generation takes over, and the card follows it.
        await ClickAsync(page, "section[data-pipeline='list-titles'] .rebuild-view");
        await page.WaitUntilAsync($"{Card("list-titles")}.querySelector('.outcome').textContent.startsWith('rebuild requested')");
        await page.WaitUntilAsync($"{Card("list-titles")}.querySelector('.route').textContent.includes('generation 1') && {Card("list-titles")}.querySelector('.offset').textContent === '8'");
    }

    /// <summary>Clicks in one step inside the page: the live feed may redraw a table between finding a button and clicking it.</summary>
    private static Task ClickAsync(IPage page, string selector) => page.EvaluateExpressionAsync($"document.querySelector({System.Text.Json.JsonSerializer.Serialize(selector)}).click()");

    private static string Card(string pipeline) => $"document.querySelector(\"section[data-pipeline='{pipeline}']\")";

    private async Task FlushAsync(string id, object value)
    {
        using var response = await _admin.PostAsJsonAsync($"/models/todo-list/{id}/flush",
            new { baseVersion = 0, commands = new[] { new { op = "create", path = "", value } } });
        response.EnsureSuccessStatusCode();
    }
}

using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Testing;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Browser;

/// <summary>
/// The demo page against the real server running the demo's own pipelines.yaml, in two headless
/// Chromium windows (two people): lists, live edits, search, and offline use with the network cut and
/// restored by DevTools network emulation. Screenshots of the main states go to the folder named by
/// UNBUNDLED_SCREENSHOTS (docs/screenshots for the README), otherwise to a temporary folder.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DemoPageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private string _screenshots = null!;

    public async Task InitializeAsync()
    {
        _server = await StartDemoServerAsync(_directory);
        _screenshots = Environment.GetEnvironmentVariable("UNBUNDLED_SCREENSHOTS") is { Length: > 0 } folder
            ? Directory.CreateDirectory(folder).FullName
            : Directory.CreateDirectory(_directory.File("screenshots")).FullName;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>The server with the repository's pipelines.yaml, its views in <paramref name="directory"/>, trusting the page's user header.</summary>
    public static async Task<RunningServer> StartDemoServerAsync(TempDirectory directory)
    {
        var yaml = (await File.ReadAllTextAsync(Path.Combine(LocalServices.RepositoryRoot(), "pipelines.yaml")))
            .Replace("${UNBUNDLED_VIEWS:-data/views}", directory.File("views"), StringComparison.Ordinal);
        return await RunningServer.StartWithPipelinesAsync(directory, yaml, 10, "--Unbundled:Server:TrustedUserHeader=X-Unbundled-User", "--Unbundled:Server:TrustedProxies:0=127.0.0.1");
    }

    [Fact]
    public async Task Two_people_share_a_list_live_with_its_summary_in_the_list_of_lists_and_search_reading_their_writes()
    {
        await using var alice = await DemoPage.OpenAsync(_server, "alice", "groceries");
        var list = await alice.CreateListAsync("Weekend shopping");
        await using var bob = await DemoPage.OpenAsync(_server, "bob", list);

        await alice.AddAsync("Milk");
        await alice.AddAsync("Bread");
        await bob.AddAsync("Eggs");
        await bob.WaitForTodosAsync("Milk, Bread, Eggs");
        await alice.WaitForTodosAsync("Milk, Bread, Eggs");

        await bob.ClickAsync("Bread", "input");
        await alice.WaitForTodosAsync("Milk, Bread [x], Eggs");
        await alice.ClickAsync("Eggs", "up");
        await bob.WaitForTodosAsync("Milk, Eggs, Bread [x]");
        await bob.RenameTodoAsync("Milk", "Oat milk");
        await alice.WaitForTodosAsync("Oat milk, Eggs, Bread [x]");

        // Who changed what: the creator on each todo, the others' commands in the activity pane.
        await alice.Page.WaitUntilAsync("[...document.querySelectorAll('#activity li')].some(li => li.textContent.includes('bob ticked “Bread”'))");
        await alice.Page.WaitUntilAsync("[...document.querySelectorAll('#activity li')].some(li => li.textContent.includes('you moved “Eggs”'))");
        Assert.Equal("by bob", (string?)await alice.Page.EvaluateJsonAsync("document.querySelector('#todos li:nth-child(2) .by').textContent"));
        // The list of lists follows its feed: the new list with its counts, in both windows.
        await bob.Page.WaitUntilAsync($"document.querySelector('#lists a[data-id={DemoPage.Js(list)}] .count')?.textContent === '1/3'");
        await alice.Page.WaitUntilAsync($"document.querySelector('#lists a[data-id={DemoPage.Js(list)}] .count')?.textContent === '1/3'");

        // Search reads its own writes: a todo added just now is found at once.
        await alice.AddAsync("Blueberry jam");
        await alice.Page.TypeAsync("#search", "bluebe");
        await alice.Page.WaitUntilAsync("[...document.querySelectorAll('#hits li a')].some(a => a.textContent.startsWith('Blueberry jam'))");
        Assert.Contains("in Weekend shopping · by alice", (string?)await alice.Page.EvaluateJsonAsync("document.querySelector('#hits li .where').textContent"));
        await alice.ScreenshotAsync(_screenshots, "demo-live");

        // Lists are renamed and deleted from the page too.
        await bob.Page.ClickAsync("#rename");
        await bob.Page.EvaluateJsonAsync("document.getElementById('rename-title').value = ''");
        await bob.Page.TypeAsync("#rename-title", "Saturday shopping");
        await bob.Page.Keyboard.PressAsync("Enter");
        await alice.Page.WaitUntilAsync("document.getElementById('title').textContent === 'Saturday shopping'");
        await alice.Page.ClickAsync("#delete-list");
        await alice.Page.ClickAsync("#delete-list");
        await bob.Page.WaitUntilAsync($"document.querySelector('#lists a[data-id={DemoPage.Js(list)}]') === null");
        var master = (await _server.Client.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!;
        Assert.Null(master["state"]);
    }

    [Fact]
    public async Task A_window_offline_keeps_editing_across_a_reload_and_on_reconnect_the_master_decides_and_the_page_shows_it()
    {
        await using var alice = await DemoPage.OpenAsync(_server, "alice", "groceries");
        var list = await alice.CreateListAsync("Offline trip");
        await alice.AddAsync("Milk");
        await alice.AddAsync("Bread");
        await using var bob = await DemoPage.OpenAsync(_server, "bob", list);
        await bob.WaitForTodosAsync("Milk, Bread");
        await bob.Page.WaitUntilAsync("navigator.serviceWorker.controller !== null");

        await bob.Page.SetOfflineModeAsync(true);
        await bob.Page.WaitUntilAsync("document.getElementById('status').textContent.startsWith('Offline')");
        await bob.ClickAsync("Milk", "input");
        await bob.AddAsync("Butter");
        await bob.ClickAsync("Butter", "up");
        await bob.RenameTodoAsync("Bread", "Rye bread");
        await bob.WaitForTodosAsync("Milk [x] (pending), Butter (pending), Rye bread (pending)");
        // Meanwhile, online, Alice deletes Milk and adds Jam.
        await alice.ClickAsync("Milk", "delete");
        await alice.AddAsync("Jam");
        await alice.WaitForTodosAsync("Bread, Jam");
        await bob.ScreenshotAsync(_screenshots, "demo-offline");

        // A reload with the network still cut: the page comes from the service worker, the queue from storage.
        await bob.Page.ReloadAsync();
        await bob.Page.WaitUntilAsync("document.body.dataset.ready !== undefined && document.body.dataset.pending === '4'");
        await bob.WaitForTodosAsync("Milk [x] (pending), Butter (pending), Rye bread (pending)");
        Assert.Equal(2, (await _server.Client.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!["state"]!["todos"]!.AsArray().Count);

        // Back online: the queue flushes; the tick of the deleted Milk is refused and the page says so,
        // and it lands on no other todo. Bob's feed resumes and brings Alice's Jam.
        await bob.Page.SetOfflineModeAsync(false);
        await bob.Page.WaitUntilAsync("document.body.dataset.pending === '0'", TimeSpan.FromSeconds(20));
        await bob.WaitForTodosAsync("Butter, Rye bread, Jam");
        await bob.Page.WaitUntilAsync("document.getElementById('notices').textContent.includes('Not applied: you ticked “Milk”')");
        await bob.ScreenshotAsync(_screenshots, "demo-conflict");
        await alice.WaitForTodosAsync("Butter, Rye bread, Jam");

        var state = (await _server.Client.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!["state"]!;
        Assert.All(state["todos"]!.AsArray(), todo => Assert.False((bool)todo!["done"]!));
        await alice.AddAsync("Honey");
        await bob.WaitForTodosAsync("Butter, Rye bread, Jam, Honey");
    }
}

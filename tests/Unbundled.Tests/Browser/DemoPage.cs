using System.Text.Json.Nodes;
using PuppeteerSharp;
using Unbundled.Testing;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Browser;

/// <summary>
/// The demo page (/client/) in one headless Chromium window, as a person uses it: typing, clicking,
/// and reading what the page shows. Each window is its own browser with its own storage, as two
/// people on two machines are.
/// </summary>
public sealed class DemoPage(IBrowser browser, IPage page) : IAsyncDisposable
{
    /// <summary>The page, for network emulation and screenshots.</summary>
    public IPage Page => page;

    /// <summary>Opens the demo page as <paramref name="user"/> on list <paramref name="list"/> (or the page's default list).</summary>
    public static async Task<DemoPage> OpenAsync(RunningServer server, string user, string? list = null)
    {
        var browser = await Chromium.LaunchAsync();
        var page = await browser.NewPageAsync();
        await page.SetViewportAsync(new ViewPortOptions { Width = 1080, Height = 620 });
        await page.EvaluateExpressionOnNewDocumentAsync($"localStorage.setItem('unbundled:user', {JsonValue.Create(user).ToJsonString()})");
        var demo = new DemoPage(browser, page);
        await page.GoToAsync(new Uri(server.Client.BaseAddress!, list is null ? "/client/" : $"/client/?list={Uri.EscapeDataString(list)}").ToString());
        await page.WaitUntilAsync("document.body.dataset.ready !== undefined");
        return demo;
    }

    /// <summary>The id of the list the page shows.</summary>
    public async Task<string> ListIdAsync() => (string)(await page.EvaluateJsonAsync("new URLSearchParams(location.search).get('list')"))!;

    /// <summary>Creates a list by its form and waits until the page shows it.</summary>
    public async Task<string> CreateListAsync(string title)
    {
        await page.TypeAsync("#new-list-title", title);
        await page.Keyboard.PressAsync("Enter");
        await page.WaitUntilAsync($"document.getElementById('title').textContent === {Js(title)} && document.body.dataset.pending === '0'");
        return await ListIdAsync();
    }

    /// <summary>Adds a todo by typing it.</summary>
    public async Task AddAsync(string title)
    {
        await page.TypeAsync("#text", title);
        await page.Keyboard.PressAsync("Enter");
        await WaitForTodoAsync(title);
    }

    /// <summary>Clicks a control of the todo titled <paramref name="title"/>: its checkbox (<c>input</c>) or a button (<c>up</c>, <c>down</c>, <c>delete</c>).</summary>
    public async Task ClickAsync(string title, string control)
    {
        var selector = control == "input" ? "input[type=checkbox]" : $"button[data-action={control}]";
        await page.ClickAsync($"#todos li[data-id=\"{await TodoIdAsync(title)}\"] {selector}");
    }

    /// <summary>Renames a todo as a person does: double-click, type, Enter.</summary>
    public async Task RenameTodoAsync(string title, string newTitle)
    {
        await page.ClickAsync($"#todos li[data-id=\"{await TodoIdAsync(title)}\"] .title", new PuppeteerSharp.Input.ClickOptions { Count = 2 });
        await page.WaitForSelectorAsync("#todos .edit");
        await page.Keyboard.DownAsync("Control");
        await page.Keyboard.PressAsync("a");
        await page.Keyboard.UpAsync("Control");
        await page.Keyboard.TypeAsync(newTitle);
        await page.Keyboard.PressAsync("Enter");
        await WaitForTodoAsync(newTitle);
    }

    /// <summary>The todos as the page shows them: title, ticked, pending.</summary>
    public async Task<string> TodosAsync() => (string)(await page.EvaluateJsonAsync(
        "[...document.querySelectorAll('#todos li')].map(li => li.querySelector('.title').textContent + (li.classList.contains('done') ? ' [x]' : '') + (li.classList.contains('pending') ? ' (pending)' : '')).join(', ')"))!;

    /// <summary>Waits until a todo with this title shows.</summary>
    public Task WaitForTodoAsync(string title) =>
        page.WaitUntilAsync($"[...document.querySelectorAll('#todos li .title')].some(t => t.textContent === {Js(title)})");

    /// <summary>Waits until the page shows exactly <paramref name="todos"/> (as <see cref="TodosAsync"/> words them).</summary>
    public async Task WaitForTodosAsync(string todos)
    {
        try
        {
            await page.WaitUntilAsync(
                $"[...document.querySelectorAll('#todos li')].map(li => li.querySelector('.title').textContent + (li.classList.contains('done') ? ' [x]' : '') + (li.classList.contains('pending') ? ' (pending)' : '')).join(', ') === {Js(todos)}");
        }
        catch (TimeoutException)
        {
            Assert.Fail($"expected todos '{todos}', the page shows '{await TodosAsync()}'");
        }
    }

    /// <summary>Saves a screenshot as <paramref name="name"/>.png in <paramref name="directory"/>.</summary>
    public Task ScreenshotAsync(string directory, string name) =>
        page.ScreenshotAsync(Path.Combine(directory, name + ".png"), new ScreenshotOptions { Type = ScreenshotType.Png });

    /// <summary>A string as a JavaScript literal.</summary>
    public static string Js(string text) => JsonValue.Create(text).ToJsonString();

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await browser.DisposeAsync();

    private async Task<string> TodoIdAsync(string title)
    {
        await WaitForTodoAsync(title);
        return (string)(await page.EvaluateJsonAsync(
            $"[...document.querySelectorAll('#todos li')].find(li => li.querySelector('.title').textContent === {Js(title)}).dataset.id"))!;
    }
}

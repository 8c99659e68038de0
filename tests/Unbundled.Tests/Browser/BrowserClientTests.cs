using Unbundled.Testing;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Browser;

/// <summary>
/// The browser client (clients/browser/unbundled-client.js) in headless Chromium against the real
/// server: the same command semantics as the server, and a replica that flushes and follows a feed.
/// </summary>
public sealed class BrowserClientTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private HeadlessChromium _browser = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, FeedWorkload.Yaml(), 1);
        _browser = await HeadlessChromium.StartAsync();
        // Any page of the server will do: the module and the API are then same-origin.
        await _browser.NavigateAsync(new Uri(_server.Client.BaseAddress!, "/health").ToString());
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>Each case: a document (null: no model yet) and a command; both implementations must agree on the result or both refuse.</summary>
    public static readonly (string Document, string Command)[] Cases =
    [
        ("null", """{"op":"create","path":"","value":{"title":"T","todos":[]}}"""),
        ("null", """{"op":"update","path":"","value":{}}"""),
        ("null", """{"op":"delete","path":""}"""),
        ("null", """{"op":"create","path":"/title","value":"x"}"""),
        ("""{"a":1}""", """{"op":"create","path":"","value":{}}"""),
        ("""{"a":1}""", """{"op":"update","path":"","value":{"b":2}}"""),
        ("""{"a":1}""", """{"op":"delete","path":""}"""),
        ("""{"a":1}""", """{"op":"create","path":"/b","value":[1,2]}"""),
        ("""{"a":1}""", """{"op":"create","path":"/a","value":2}"""),
        ("""{"a":1}""", """{"op":"update","path":"/a","value":{"deep":true}}"""),
        ("""{"a":1}""", """{"op":"update","path":"/missing","value":2}"""),
        ("""{"a":1}""", """{"op":"delete","path":"/a"}"""),
        ("""{"a":1}""", """{"op":"delete","path":"/missing"}"""),
        ("""{"a":1}""", """{"op":"create","path":"/b","value":null}"""),
        ("""{"a":1}""", """{"op":"create","path":"/a/b","value":1}"""),
        ("""{"a":{"b":null}}""", """{"op":"create","path":"/a/b/c","value":1}"""),
        ("""{"l":[1,2,3]}""", """{"op":"create","path":"/l/-","value":4}"""),
        ("""{"l":[1,2,3]}""", """{"op":"create","path":"/l/0","value":0}"""),
        ("""{"l":[1,2,3]}""", """{"op":"create","path":"/l/3","value":9}"""),
        ("""{"l":[1,2,3]}""", """{"op":"create","path":"/l/4","value":9}"""),
        ("""{"l":[1,2,3]}""", """{"op":"update","path":"/l/1","value":20}"""),
        ("""{"l":[1,2,3]}""", """{"op":"update","path":"/l/3","value":20}"""),
        ("""{"l":[1,2,3]}""", """{"op":"update","path":"/l/-","value":20}"""),
        ("""{"l":[1,2,3]}""", """{"op":"delete","path":"/l/0"}"""),
        ("""{"l":[1,2,3]}""", """{"op":"delete","path":"/l/01"}"""),
        ("""{"l":[1,2,3]}""", """{"op":"delete","path":"/l/x"}"""),
        ("""{"l":[{"t":"a"}]}""", """{"op":"update","path":"/l/0/t","value":"b"}"""),
        ("""{"l":[{"t":"a"}]}""", """{"op":"update","path":"/l/1/t","value":"b"}"""),
        ("""{"a/b":1,"c~d":2}""", """{"op":"update","path":"/a~1b","value":3}"""),
        ("""{"a/b":1,"c~d":2}""", """{"op":"delete","path":"/c~0d"}"""),
        ("""{"a":1}""", """{"op":"update","path":"/a~2","value":3}"""),
        ("""{"a":1}""", """{"op":"update","path":"a","value":3}"""),
        ("""{"":{"":1}}""", """{"op":"update","path":"//","value":2}"""),
    ];

    [Fact]
    public async Task The_browser_applies_commands_exactly_as_the_server_does()
    {
        var cases = new JsonArray(Cases.Select(c => (JsonNode)new JsonObject { ["document"] = JsonNode.Parse(c.Document), ["command"] = JsonNode.Parse(c.Command) }).ToArray());
        var browser = (await _browser.EvaluateAsync($$"""
            (async () => {
              const { applyCommand } = await import('/client/unbundled-client.js');
              return {{cases.ToJsonString()}}.map(({ document, command }) => {
                try { return { ok: true, result: applyCommand(document, command) ?? null }; }
                catch (error) { return { ok: false, error: error.name + ': ' + error.message }; }
              });
            })()
            """))!.AsArray();

        for (var i = 0; i < Cases.Length; i++)
        {
            var (document, command) = Cases[i];
            var (serverOk, serverResult) = ApplyOnServerSide(document, command);
            var inBrowser = browser[i]!;
            var label = $"{document} + {command}: server {(serverOk ? serverResult?.ToJsonString() ?? "null" : "refused")}, browser {inBrowser.ToJsonString()}";
            Assert.True(serverOk == (bool)inBrowser["ok"]!, label);
            if (serverOk) Assert.True(JsonNode.DeepEquals(serverResult, inBrowser["result"]), label);
            else Assert.StartsWith("CommandError", (string?)inBrowser["error"]);
        }
    }

    [Fact]
    public async Task A_browser_replica_applies_locally_at_once_flushes_and_follows_other_clients_through_the_feed()
    {
        var writes = new FeedWorkload(_server.Client);
        await writes.WriteAsync("web");

        var local = (await _browser.EvaluateAsync("""
            (async () => {
              const { ModelReplica } = await import('/client/unbundled-client.js');
              const replica = window.replica = new ModelReplica({ type: 'todo-list', id: 'web', feed: { pipeline: 'lists', channel: 'list:web' } });
              await replica.open();
              replica.apply({ op: 'update', path: '/title', value: 'from the browser' });
              const before = { title: replica.state.title, pending: replica.pending, version: replica.version };
              await replica.flush();
              return { before, after: { pending: replica.pending, version: replica.version } };
            })()
            """))!;
        // Another client changes the list; the feed tells the replica, which fetches what it lacks.
        await writes.WriteAsync("web");
        await writes.WriteAsync("web");
        var master = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/web"))!;
        var followed = (await _browser.EvaluateAsync($$"""
            new Promise((resolve, reject) => {
              const done = () => window.replica.version >= {{(long)master["version"]!}};
              if (done()) return resolve(window.replica.state);
              const stop = window.replica.onchange(() => { if (done()) { stop(); resolve(window.replica.state); } });
              setTimeout(() => reject(new Error('the feed did not bring version {{(long)master["version"]!}}; at ' + window.replica.version)), 10000);
            })
            """))!;

        Assert.Equal("from the browser", (string?)local["before"]!["title"]);
        Assert.Equal((1, 1L), ((int)local["before"]!["pending"]!, (long)local["before"]!["version"]!));
        Assert.Equal((0, 2L), ((int)local["after"]!["pending"]!, (long)local["after"]!["version"]!));
        Assert.True(JsonNode.DeepEquals(master["state"], followed), $"browser {followed.ToJsonString()} != master {master["state"]}");
        await _browser.EvaluateAsync("window.replica.close()");
    }

    [Fact]
    public async Task A_refused_flush_rejects_with_the_problem_and_keeps_the_commands_pending()
    {
        var outcome = (await _browser.EvaluateAsync("""
            (async () => {
              const { ModelReplica, ProblemError } = await import('/client/unbundled-client.js');
              const replica = new ModelReplica({ type: 'no-such-type', id: 'x' });
              replica.apply({ op: 'create', path: '', value: { a: 1 } });
              try { await replica.flush(); return { flushed: true }; }
              catch (error) { return { isProblem: error instanceof ProblemError, status: error.status, type: error.problem?.type, pending: replica.pending }; }
            })()
            """))!;

        Assert.True((bool)outcome["isProblem"]!);
        Assert.Equal(404, (int)outcome["status"]!);
        Assert.Equal("urn:unbundled:problem:unknown-model-type", (string?)outcome["type"]);
        Assert.Equal(1, (int)outcome["pending"]!);
    }

    [Fact]
    public async Task Two_windows_of_the_demo_page_see_each_others_changes_live()
    {
        await using var other = await HeadlessChromium.StartAsync();
        var page = new Uri(_server.Client.BaseAddress!, "/client/?list=live&feed=lists").ToString();
        await _browser.NavigateAsync(page);
        await other.NavigateAsync(page);
        await WaitForAsync(_browser, "window.replica !== undefined && document.getElementById('status').textContent.startsWith('version')");
        await WaitForAsync(other, "window.replica !== undefined && document.getElementById('status').textContent.startsWith('version')");

        await _browser.EvaluateAsync("""
            document.getElementById('text').value = 'Buy milk';
            document.getElementById('add').requestSubmit();
            """);
        await WaitForAsync(other, "[...document.querySelectorAll('#todos li span')].some(s => s.textContent.trim() === 'Buy milk')");
        await other.EvaluateAsync("document.querySelector('#todos li input').click()");
        await WaitForAsync(_browser, "document.querySelector('#todos li')?.className === 'done'");

        var master = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/live"))!;
        Assert.Equal("Buy milk", (string?)master["state"]!["todos"]![0]!["title"]);
        Assert.True((bool)master["state"]!["todos"]![0]!["done"]!);
    }

    private static async Task WaitForAsync(HeadlessChromium browser, string condition)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            if (await browser.EvaluateAsync($"!!({condition})") is JsonValue value && value.GetValue<bool>()) return;
            await Task.Delay(50);
        }
        Assert.Fail($"the page never reached: {condition}");
    }

    private static (bool Ok, JsonNode? Result) ApplyOnServerSide(string document, string command)
    {
        var parsed = System.Text.Json.JsonSerializer.Deserialize<Command>(command)!;
        try
        {
            return (true, ModelDocument.Apply(JsonNode.Parse(document), parsed, DocumentPath.Parse(parsed.Path)));
        }
        catch (Exception error) when (error is CommandFailedException or FormatException)
        {
            return (false, null);
        }
    }
}

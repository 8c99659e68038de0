using PuppeteerSharp;
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
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class BrowserClientTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private IBrowser _browser = null!;
    private IPage _page = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, FeedWorkload.Yaml(), 1);
        _browser = await Chromium.LaunchAsync();
        _page = await _browser.NewPageAsync();
        // Any page of the server will do: the module and the API are then same-origin.
        await _page.GoToAsync(new Uri(_server.Client.BaseAddress!, "/health").ToString());
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task The_browser_applies_commands_exactly_as_the_server_does()
    {
        var cases = new JsonArray(CommandCases.All.Select(c => (JsonNode)new JsonObject { ["document"] = JsonNode.Parse(c.Document), ["command"] = JsonNode.Parse(c.Command) }).ToArray());
        var browser = (await _page.EvaluateJsonAsync($$"""
            (async () => {
              const { applyCommand } = await import('/client/unbundled-client.js');
              return {{cases.ToJsonString()}}.map(({ document, command }) => {
                try { return { ok: true, result: applyCommand(document, command) ?? null }; }
                catch (error) { return { ok: false, error: error.name + ': ' + error.message, itemMissing: error.itemMissing === true }; }
              });
            })()
            """))!.AsArray();

        for (var i = 0; i < CommandCases.All.Length; i++)
        {
            var (document, command) = CommandCases.All[i];
            var (serverOk, serverResult, itemMissing) = ApplyOnServerSide(document, command);
            var inBrowser = browser[i]!;
            var label = $"{document} + {command}: server {(serverOk ? serverResult?.ToJsonString() ?? "null" : itemMissing ? "refused, item missing" : "refused")}, browser {inBrowser.ToJsonString()}";
            Assert.True(serverOk == (bool)inBrowser["ok"]!, label);
            if (serverOk) Assert.True(JsonNode.DeepEquals(serverResult, inBrowser["result"]), label);
            else
            {
                Assert.StartsWith("CommandError", (string?)inBrowser["error"]);
                Assert.True(itemMissing == (bool)inBrowser["itemMissing"]!, label);
            }
        }
    }

    [Fact]
    public async Task A_browser_replica_applies_locally_at_once_flushes_and_follows_other_clients_through_the_feed()
    {
        var writes = new FeedWorkload(_server.Client);
        await writes.WriteAsync("web");

        var local = (await _page.EvaluateJsonAsync("""
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
        var followed = (await _page.EvaluateJsonAsync($$"""
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
        await _page.EvaluateJsonAsync("window.replica.close()");
    }

    [Fact]
    public async Task A_refused_flush_rejects_with_the_problem_and_keeps_the_commands_pending()
    {
        var outcome = (await _page.EvaluateJsonAsync("""
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
    public async Task An_edit_of_a_todo_deleted_meanwhile_is_dropped_and_reported_and_the_rest_of_the_flush_lands()
    {
        var outcome = (await _page.EvaluateJsonAsync("""
            (async () => {
              const { ModelReplica, itemKey } = await import('/client/unbundled-client.js');
              const alice = new ModelReplica({ type: 'todo-list', id: 'drop' });
              await alice.open();
              alice.apply({ op: 'create', path: '', value: { title: 'Drop', todos: [] } });
              alice.apply({ op: 'create', path: '/todos/-', value: { id: 'milk', title: 'Milk', done: false } });
              alice.apply({ op: 'create', path: '/todos/-', value: { id: 'bread', title: 'Bread', done: false } });
              await alice.flush();
              const bob = new ModelReplica({ type: 'todo-list', id: 'drop' });
              await bob.open();
              alice.apply({ op: 'delete', path: `/todos/${itemKey('milk')}` });
              await alice.flush();

              const rejected = [];
              bob.on('rejected', ({ command, problem }) => rejected.push({ path: command.path, type: problem.type, command: problem.command }));
              bob.apply({ op: 'update', path: `/todos/${itemKey('milk')}/done`, value: true });
              bob.apply({ op: 'update', path: `/todos/${itemKey('bread')}/title`, value: 'Rye bread' });
              await bob.flush();
              return { rejected, todos: bob.state.todos.map(t => ({ id: t.id, title: t.title, done: t.done })), pending: bob.pending };
            })()
            """))!;

        Assert.Equal("""[{"path":"/todos/[id=milk]/done","type":"urn:unbundled:problem:item-missing","command":"update /todos/[id=milk]/done"}]""",
            outcome["rejected"]!.ToJsonString());
        Assert.Equal("""[{"id":"bread","title":"Rye bread","done":false}]""", outcome["todos"]!.ToJsonString());
        Assert.Equal(0, (int)outcome["pending"]!);
        var master = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/drop"))!;
        Assert.Equal("Rye bread", (string?)master["state"]!["todos"]![0]!["title"]);
        Assert.False((bool)master["state"]!["todos"]![0]!["done"]!);
    }

    private static (bool Ok, JsonNode? Result, bool ItemMissing) ApplyOnServerSide(string document, string command)
    {
        var parsed = System.Text.Json.JsonSerializer.Deserialize<Command>(command)!;
        try
        {
            return (true, ModelDocument.Apply(JsonNode.Parse(document), parsed, DocumentPath.Parse(parsed.Path)), false);
        }
        catch (CommandFailedException failure)
        {
            return (false, null, failure.ItemMissing);
        }
        catch (FormatException)
        {
            return (false, null, false);
        }
    }
}

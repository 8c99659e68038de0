using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Tests.Browser;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The demo's aggregating view on the real server with the demo's pipelines.yaml: each person's open todos
/// across every list, read through the view API while two people add, tick, move and delete.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DemoAggregateTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await DemoPageTests.StartDemoServerAsync(_directory);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Each_persons_open_todos_across_lists_follow_adds_ticks_and_deletes()
    {
        await FlushAsync("alice", "groceries", 0, new { op = "create", path = "", value = new { title = "Groceries", todos = Array.Empty<object>() } });
        await FlushAsync("alice", "chores", 0, new { op = "create", path = "", value = new { title = "Chores", todos = Array.Empty<object>() } });
        await FlushAsync("alice", "groceries", 1, Add("milk", "Milk"));
        await FlushAsync("alice", "groceries", 2, Add("bread", "Bread"));
        await FlushAsync("bob", "groceries", 3, Add("eggs", "Eggs"));
        await FlushAsync("alice", "chores", 1, Add("dishes", "Dishes"));

        var alice = await PersonAsync("alice", p => (int?)p?["open"] == 3);
        Assert.Equal(2, (int)alice!["lists"]!);
        Assert.Equal(["Dishes", "Bread", "Milk"], alice["latest"]!.AsArray().Select(t => (string)t!));
        Assert.Equal(1, (int)(await PersonAsync("bob", p => (int?)p?["open"] == 1))!["open"]!);

        // Bob ticks Alice's milk: it is no longer open. Deleting her chores list takes the dishes away.
        await FlushAsync("bob", "groceries", 4, new { op = "update", path = "/todos/[id=milk]/done", value = true });
        await FlushAsync("alice", "chores", 2, new { op = "delete", path = "" });
        alice = await PersonAsync("alice", p => (int?)p?["open"] == 1);
        Assert.Equal(1, (int)alice!["lists"]!);
        Assert.Equal(["Bread"], alice["latest"]!.AsArray().Select(t => (string)t!));

        // Bob's last open todo deleted: his document goes.
        await FlushAsync("bob", "groceries", 5, new { op = "delete", path = "/todos/[id=eggs]" });
        await PersonAsync("bob", p => p is null);
    }

    private static object Add(string id, string title) => new { op = "create", path = "/todos/-", value = new { id, title, done = false } };

    private async Task FlushAsync(string user, string list, long baseVersion, object command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/todo-list/{list}/flush")
        {
            Content = JsonContent.Create(new { baseVersion, commands = new[] { command } }),
            Headers = { { "X-Unbundled-User", user } },
        };
        using var response = await _server.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The person's document once <paramref name="expected"/> holds of it (null: there is none), waiting for the view to catch up.</summary>
    private async Task<JsonObject?> PersonAsync(string person, Func<JsonObject?, bool> expected)
    {
        JsonObject? document = null;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var response = await _server.Client.GetAsync($"/views/open-todos-per-person/person:{person}");
            document = response.StatusCode == HttpStatusCode.NotFound ? null : (await response.Content.ReadFromJsonAsync<JsonObject>())!["document"]!.AsObject();
            if (expected(document)) return document;
            await Task.Delay(100);
        }
        Assert.Fail($"{person}'s document never came to the expected state; it is {document?.ToJsonString() ?? "absent"}");
        return null;
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Tests.Browser;
using Unbundled.Tests.Feeds;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The demo's stateful views on the real server with the demo's pipelines.yaml, read through the view API while
/// two people write: each person's open todos across every list (an aggregate), and each todo with its author's
/// profile (a join), which follows a renamed profile; the summaries followed as a push feed, and the todos
/// searched by their author's name.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DemoStatefulViewsTests : IAsyncLifetime
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

    [Fact]
    public async Task Each_todo_embeds_its_authors_profile_and_follows_a_rename()
    {
        await FlushModelAsync("alice", "user", "alice", 0, new { op = "create", path = "", value = new { name = "Alice Liddell" } });
        await FlushAsync("alice", "groceries", 0, new { op = "create", path = "", value = new { title = "Groceries", todos = Array.Empty<object>() } });
        await FlushAsync("alice", "groceries", 1, Add("milk", "Milk"));
        await FlushAsync("bob", "groceries", 2, Add("eggs", "Eggs"));

        await TodoAsync("groceries:milk", t => (string?)t?["author"]?["name"] == "Alice Liddell");
        // Bob has no profile yet: his todo embeds none, until he makes one.
        await TodoAsync("groceries:eggs", t => t is not null && t["author"] is null);
        await FlushModelAsync("bob", "user", "bob", 0, new { op = "create", path = "", value = new { name = "Bob" } });
        await TodoAsync("groceries:eggs", t => (string?)t?["author"]?["name"] == "Bob");

        await FlushModelAsync("alice", "user", "alice", 1, new { op = "update", path = "/name", value = "Alice" });
        var milk = await TodoAsync("groceries:milk", t => (string?)t?["author"]?["name"] == "Alice");
        Assert.Equal("Milk", (string?)milk!["title"]);
    }

    [Fact]
    public async Task A_profile_is_its_owners_to_write()
    {
        await FlushModelAsync("alice", "user", "alice", 0, new { op = "create", path = "", value = new { name = "Alice" } });

        using var request = new HttpRequestMessage(HttpMethod.Post, "/models/user/alice/flush")
        {
            Content = JsonContent.Create(new { baseVersion = 1, commands = new[] { new { op = "update", path = "/name", value = "Mallory" } } }),
            Headers = { { "X-Unbundled-User", "mallory" } },
        };
        using var refused = await _server.Client.SendAsync(request);

        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("a profile is its owner's to write", await refused.Content.ReadAsStringAsync());
        Assert.True((int)refused.StatusCode is >= 400 and < 500, $"{(int)refused.StatusCode}");
        var profile = await _server.Client.GetFromJsonAsync<JsonObject>("/models/user/alice");
        Assert.Equal("Alice", (string?)profile!["state"]!["name"]);
    }

    [Fact]
    public async Task The_search_index_finds_todos_by_their_authors_name_and_follows_a_rename()
    {
        await FlushModelAsync("alice", "user", "alice", 0, new { op = "create", path = "", value = new { name = "Alice Liddell" } });
        await FlushAsync("alice", "garden", 0, new { op = "create", path = "", value = new { title = "Garden", todos = Array.Empty<object>() } });
        await FlushAsync("alice", "garden", 1, Add("roses", "Prune the roses"));
        await FlushAsync("bob", "garden", 2, Add("hedge", "Trim the hedge"));

        Assert.Equal(["garden:roses"], await SearchAsync("author.name:liddell", hits => hits.Count == 1));
        await FlushModelAsync("alice", "user", "alice", 1, new { op = "update", path = "/name", value = "Alice Hargreaves" });
        Assert.Equal(["garden:roses"], await SearchAsync("hargreaves", hits => hits.Count == 1));
        Assert.Empty(await SearchAsync("liddell", hits => hits.Count == 0));
    }

    [Fact]
    public async Task The_summaries_are_followed_live_as_a_push_feed()
    {
        await using var feed = await RawSse.OpenAsync(_server.Client, "/feeds/people-feed?channel=people");
        await feed.ReadUntilAsync("ready");

        await FlushAsync("carol", "errands", 0, new { op = "create", path = "", value = new { title = "Errands", todos = Array.Empty<object>() } });
        await FlushAsync("carol", "errands", 1, Add("post", "Post the letter"));
        await FlushAsync("carol", "errands", 2, Add("bank", "Go to the bank"));

        var seen = new List<JsonObject>();
        while (seen.LastOrDefault() is not { } last || (int?)last["open"] != 2)
        {
            var next = await feed.NextAsync();
            Assert.NotNull(next);
            if (next.Event == "change" && (string?)next.Data?["key"] == "carol") seen.Add(next.Data!["document"]!.AsObject());
        }
        Assert.Equal(["Go to the bank", "Post the letter"], seen[^1]["latest"]!.AsArray().Select(t => (string)t!));
    }

    /// <summary>The keys the search finds once <paramref name="expected"/> holds of its hits, waiting for the index to catch up.</summary>
    private async Task<List<string>> SearchAsync(string query, Func<List<string>, bool> expected)
    {
        var keys = new List<string>();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/search/todo-search?q={Uri.EscapeDataString(query)}") { Headers = { { "X-Unbundled-User", "alice" } } };
            using var response = await _server.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            keys = (await response.Content.ReadFromJsonAsync<JsonObject>())!["hits"]!.AsArray().Select(h => (string)h!["key"]!).ToList();
            if (expected(keys)) return keys;
            await Task.Delay(100);
        }
        Assert.Fail($"searching '{query}' never gave the expected hits; it gives {string.Join(", ", keys)}");
        return keys;
    }

    private async Task<JsonObject?> TodoAsync(string key, Func<JsonObject?, bool> expected) => await ViewAsync("todos-with-authors", $"todo:{key}", expected);

    private static object Add(string id, string title) => new { op = "create", path = "/todos/-", value = new { id, title, done = false } };

    private Task FlushAsync(string user, string list, long baseVersion, object command) => FlushModelAsync(user, "todo-list", list, baseVersion, command);

    private async Task FlushModelAsync(string user, string type, string id, long baseVersion, object command)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/models/{type}/{id}/flush")
        {
            Content = JsonContent.Create(new { baseVersion, commands = new[] { command } }),
            Headers = { { "X-Unbundled-User", user } },
        };
        using var response = await _server.Client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private Task<JsonObject?> PersonAsync(string person, Func<JsonObject?, bool> expected) => ViewAsync("open-todos-per-person", $"person:{person}", expected);

    /// <summary>The view's document once <paramref name="expected"/> holds of it (null: there is none), waiting for the view to catch up.</summary>
    private async Task<JsonObject?> ViewAsync(string view, string key, Func<JsonObject?, bool> expected)
    {
        JsonObject? document = null;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var response = await _server.Client.GetAsync($"/views/{view}/{key}");
            document = response.StatusCode == HttpStatusCode.NotFound ? null : (await response.Content.ReadFromJsonAsync<JsonObject>())!["document"]!.AsObject();
            if (expected(document)) return document;
            await Task.Delay(100);
        }
        Assert.Fail($"{view}'s {key} never came to the expected state; it is {document?.ToJsonString() ?? "absent"}");
        return null;
    }
}

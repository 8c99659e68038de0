using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Tests.Feeds;

namespace Unbundled.Tests.Security;

/// <summary>Two tenants on one server try to read and write each other's models, views, search hits and feeds.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class TenantIsolationTests : IClassFixture<SecuredServer>
{
    private readonly SecuredServer _server;

    public TenantIsolationTests(SecuredServer server) => _server = server;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<long> CreateListAsync(HttpClient client, string list, params string[] todos)
    {
        // Each todo's title carries its list's name, so a search for the list finds nothing of other tests.
        var items = string.Join(",", todos.Select(t => $$"""{"id":"{{t}}","title":"{{list}} {{t}}"}"""));
        var response = await client.PostAsync($"/models/todo-list/{list}/flush", Json($$$"""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[{{{items}}}]}}]}"""));
        response.EnsureSuccessStatusCode();
        return (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["position"]!;
    }

    [Fact]
    public async Task Another_tenants_model_cannot_be_read_or_written_and_reads_as_not_found()
    {
        await CreateListAsync(_server.Alice, "acme-private", "a1");

        var read = await _server.Bob.GetAsync("/models/todo-list/acme-private");
        var commands = await _server.Bob.GetAsync("/models/todo-list/acme-private/commands");
        var write = await _server.Bob.PostAsync("/models/todo-list/acme-private/flush", Json("""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"pwned"}]}"""));

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, commands.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, write.StatusCode);
        Assert.Equal("urn:unbundled:problem:model-not-found", (string?)(await write.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        var model = (await _server.Alice.GetFromJsonAsync<JsonObject>("/models/todo-list/acme-private"))!;
        Assert.Equal(("L", 1L, "acme"), ((string?)model["state"]!["title"], (long)model["version"]!, (string?)model["state"]!["_tenant"]));
    }

    [Fact]
    public async Task A_deleted_model_stays_its_tenants_its_history_closed_to_others_and_its_id_theirs_to_create_again()
    {
        var list = $"deleted-{Guid.NewGuid():N}";
        await CreateListAsync(_server.Alice, list, "secret");
        (await _server.Alice.PostAsync($"/models/todo-list/{list}/flush", Json("""{"baseVersion":1,"commands":[{"op":"delete","path":""}]}"""))).EnsureSuccessStatusCode();

        var history = await _server.Bob.GetAsync($"/models/todo-list/{list}/commands?since=0");
        var read = await _server.Bob.GetAsync($"/models/todo-list/{list}");
        var takeover = await _server.Bob.PostAsync($"/models/todo-list/{list}/flush", Json("""{"baseVersion":2,"commands":[{"op":"create","path":"","value":{"title":"mine","todos":[]}}]}"""));

        Assert.Equal((HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound), (history.StatusCode, read.StatusCode, takeover.StatusCode));
        Assert.DoesNotContain("secret", await history.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _server.Alice.GetAsync($"/models/todo-list/{list}/commands?since=0")).StatusCode);
        var again = await _server.Alice.PostAsync($"/models/todo-list/{list}/flush", Json("""{"baseVersion":2,"commands":[{"op":"create","path":"","value":{"title":"again","todos":[]}}]}"""));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("acme", (string?)(await _server.Alice.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!["state"]!["_tenant"]);
    }

    [Theory]
    [InlineData("""{"op":"create","path":"","value":{"title":"L","todos":[],"_tenant":"globex"}}""")]
    [InlineData("""{"op":"update","path":"/_tenant","value":"globex"}""")]
    [InlineData("""{"op":"delete","path":"/_tenant"}""")]
    [InlineData("""{"op":"move","from":"/_tenant","path":"/stolen"}""")]
    [InlineData("""{"op":"update","path":"","value":{"title":"L","todos":[],"_tenant":"globex"}}""")]
    public async Task The_tenant_of_a_model_can_be_neither_supplied_nor_changed_by_a_client(string command)
    {
        var list = $"tenant-{Guid.NewGuid():N}";
        var version = command.Contains("\"create\"") ? 0 : 1;
        if (version == 1) await CreateListAsync(_server.Alice, list);

        var response = await _server.Alice.PostAsync($"/models/todo-list/{list}/flush", Json($$"""{"baseVersion":{{version}},"commands":[{{command}}]}"""));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var state = (await _server.Root.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!;
        Assert.Equal(version, (long)state["version"]!);
    }

    [Fact]
    public async Task View_reads_and_search_counts_cover_only_the_callers_tenant()
    {
        var acme = await CreateListAsync(_server.Alice, "acme-search", "x1", "x2", "x3");
        var globex = await CreateListAsync(_server.Bob, "globex-search", "y1", "y2");
        var head = Math.Max(acme, globex);

        const string query = "q=title:acme-search OR title:globex-search";
        var aliceHits = (await _server.Alice.GetFromJsonAsync<JsonObject>($"/search/search?{query}&atPosition={head}&limit=1"))!;
        var bobHits = (await _server.Bob.GetFromJsonAsync<JsonObject>($"/search/search?{query}&atPosition={head}&limit=10"))!;
        var rootHits = (await _server.Root.GetFromJsonAsync<JsonObject>($"/search/search?{query}&atPosition={head}&limit=10"))!;

        // Counted inside the query: Alice's page of one still says 3, never the 5 that exist.
        Assert.Equal(3, (long)aliceHits["total"]!);
        Assert.Single(aliceHits["hits"]!.AsArray());
        Assert.Equal(2, (long)bobHits["total"]!);
        Assert.All(bobHits["hits"]!.AsArray(), hit => Assert.Equal("globex", (string?)hit!["document"]!["tenant"]));
        Assert.Equal(5, (long)rootHits["total"]!);

        Assert.Equal(HttpStatusCode.OK, (await _server.Alice.GetAsync($"/views/items/todo:acme-search:x1?atPosition={head}")).StatusCode);
        var foreign = await _server.Bob.GetAsync($"/views/items/todo:acme-search:x1?atPosition={head}");
        Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
        Assert.Equal("urn:unbundled:problem:document-not-found", (string?)(await foreign.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
    }

    [Fact]
    public async Task A_view_that_declares_no_owner_is_closed_to_callers_of_a_tenant()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Alice.GetAsync("/views/unowned/anything")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Root.GetAsync("/views/unowned/anything")).StatusCode);
    }

    [Fact]
    public async Task A_feed_token_opens_one_channel_and_its_tenant_sees_only_its_own_changes()
    {
        var token = await FeedTokenAsync(_server.Bob, "list:shared-channel");
        await using var bob = await RawSse.OpenAsync(_server.Anonymous, $"/feeds/lists?channel=list:shared-channel&after=0&access_token={Uri.EscapeDataString(token)}");
        Assert.Equal(HttpStatusCode.OK, bob.Response.StatusCode);
        await bob.ReadUntilAsync("ready");

        // Alice owns the list; Bob, of another tenant, follows the same channel name.
        await CreateListAsync(_server.Alice, "shared-channel", "s1");
        var ownToken = await FeedTokenAsync(_server.Alice, "list:shared-channel");
        await using var alice = await RawSse.OpenAsync(_server.Anonymous, $"/feeds/lists?channel=list:shared-channel&after=0&access_token={Uri.EscapeDataString(ownToken)}");
        var aliceEvents = await alice.ReadUntilAsync("ready");
        Assert.Contains(aliceEvents, e => e.Event == "change" && (string?)e.Data!["document"]!["tenant"] == "acme");

        var next = await bob.NextAsync(TimeSpan.FromSeconds(2)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null);
        Assert.True(next is null, $"Bob saw {next?.Event} {next?.Data?.ToJsonString()}");
    }

    [Fact]
    public async Task A_feed_token_for_one_channel_does_not_open_another_or_any_other_endpoint()
    {
        var token = Uri.EscapeDataString(await FeedTokenAsync(_server.Alice, "list:one"));

        var other = await _server.Anonymous.GetAsync($"/feeds/lists?channel=list:two&access_token={token}");
        var model = await _server.Anonymous.GetAsync($"/models/todo-list/one?access_token={token}");

        Assert.Equal(HttpStatusCode.Forbidden, other.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, model.StatusCode);
    }

    [Theory]
    [InlineData("{\"pipeline\":\"lists\"}")]
    [InlineData("{\"pipeline\":1,\"channel\":[]}")]
    [InlineData("not json")]
    public async Task A_feed_token_request_that_is_not_a_feed_is_refused_with_400(string body)
    {
        var response = await _server.Alice.PostAsync("/auth/feed-token", Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static async Task<string> FeedTokenAsync(HttpClient client, string channel)
    {
        var response = await client.PostAsync("/auth/feed-token", Json($$"""{"pipeline":"lists","channel":"{{channel}}"}"""));
        response.EnsureSuccessStatusCode();
        return (string)(await response.Content.ReadFromJsonAsync<JsonObject>())!["token"]!;
    }
}

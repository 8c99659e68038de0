using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>The flush API over real HTTP: what a client gets back, and that bad input changes nothing.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FlushApiTests : IAsyncLifetime
{
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartAsync("--Unbundled:Server:MaxFlushBytes=4096", "--Unbundled:Server:TrustedUserHeader=X-User", "--Unbundled:Server:TrustedProxies:0=127.0.0.1");
        var created = await FlushAsync("groceries", """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}]}""");
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private Task<HttpResponseMessage> FlushAsync(string id, string body, string type = "todo-list") =>
        _server.Client.PostAsync($"/models/{type}/{id}/flush", new StringContent(body, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task A_flush_returns_version_position_and_the_commands_as_the_master_applied_them()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/models/todo-list/groceries/flush")
        {
            Content = new StringContent("""{"baseVersion":1,"commands":[{"op":"create","path":"/todos/-","value":{"title":"Milk"}}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-User", "alice");
        var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(2, (long)body["version"]!);
        Assert.Equal(2, (long)body["position"]!);
        var command = body["commands"]![0]!;
        Assert.Equal("create", (string?)command["op"]);
        Assert.Equal("alice", (string?)command["meta"]!["by"]);
        Assert.NotNull(command["value"]!["createdAt"]);
    }

    [Fact]
    public async Task A_model_reads_with_its_version_and_its_commands_read_since_a_version()
    {
        await FlushAsync("groceries", """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"Weekend"}]}""");

        var model = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/groceries"))!;
        var commands = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/groceries/commands?since=1"))!;
        var unknown = (await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/nothing-yet"))!;

        Assert.Equal(2, (long)model["version"]!);
        Assert.Equal("Weekend", (string?)model["state"]!["title"]);
        Assert.Equal("/title", (string?)Assert.Single(commands["commands"]!.AsArray())!["path"]);
        Assert.Equal(0, (long)unknown["version"]!);
        Assert.Null(unknown["state"]);
    }

    public static TheoryData<string, string, string, HttpStatusCode, string, int?> BadFlushes => new()
    {
        { "malformed JSON", "groceries", """{"baseVersion":1,"commands":[{"op":"create",""", HttpStatusCode.BadRequest, "malformed-json", null },
        { "unknown op", "groceries", """{"baseVersion":1,"commands":[{"op":"upsert","path":"/a","value":1}]}""", HttpStatusCode.BadRequest, "malformed-json", null },
        { "missing commands", "groceries", """{"baseVersion":1}""", HttpStatusCode.BadRequest, "malformed-json", null },
        { "unknown model type", "x", """{"baseVersion":0,"commands":[]}""", HttpStatusCode.NotFound, "unknown-model-type", null },
        { "invalid path", "groceries", """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"a"},{"op":"update","path":"title","value":"b"}]}""", HttpStatusCode.BadRequest, "invalid-path", 1 },
        { "command fails validation", "groceries", """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"a"},{"op":"delete","path":"/todos/3"}]}""", (HttpStatusCode)422, "command-rejected", 1 },
        { "version ahead", "groceries", """{"baseVersion":9,"commands":[{"op":"update","path":"/title","value":"a"}]}""", HttpStatusCode.Conflict, "version-ahead", null },
        { "negative version", "groceries", """{"baseVersion":-1,"commands":[]}""", HttpStatusCode.BadRequest, "malformed-request", null },
        { "body over the limit", "groceries", """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"BIG"}]}""".Replace("BIG", new string('x', 5000)), HttpStatusCode.RequestEntityTooLarge, "flush-too-large", null },
    };

    [Theory]
    [MemberData(nameof(BadFlushes))]
    public async Task Bad_input_gets_a_problem_response_and_changes_nothing(string mistake, string id, string body, HttpStatusCode status, string problem, int? commandIndex)
    {
        var headBefore = await _server.Log.ReadHeadAsync(default);

        var response = await FlushAsync(id, body, type: mistake == "unknown model type" ? "no-such-type" : "todo-list");

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var details = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal("urn:unbundled:problem:" + problem, (string?)details["type"]);
        Assert.Equal((int)status, (int)details["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)details["detail"]));
        Assert.Equal(commandIndex, (int?)details["commandIndex"]);
        Assert.Equal(headBefore, await _server.Log.ReadHeadAsync(default));
    }

    [Fact]
    public async Task A_chunked_body_over_the_limit_is_refused_while_it_streams_in()
    {
        var headBefore = await _server.Log.ReadHeadAsync(default);
        var json = """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"BIG"}]}""".Replace("BIG", new string('y', 20_000));
        using var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/models/todo-list/groceries/flush") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await _server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(headBefore, await _server.Log.ReadHeadAsync(default));
    }

    [Fact]
    public async Task Too_many_commands_in_one_flush_is_refused_as_too_large()
    {
        await using var server = await RunningServer.StartAsync("--Unbundled:Master:MaxCommandsPerFlush=2");
        var body = """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{}},{"op":"update","path":"","value":{}},{"op":"update","path":"","value":{}}]}""";

        var response = await server.Client.PostAsync("/models/todo-list/a/flush", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, await server.Log.ReadHeadAsync(default));
    }
}

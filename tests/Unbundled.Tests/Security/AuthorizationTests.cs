using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Security;

/// <summary>Who may call which endpoint: API keys, JWTs, roles, and the refusals for everyone else, over real HTTP.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class AuthorizationTests : IClassFixture<SecuredServer>
{
    private readonly SecuredServer _server;

    public AuthorizationTests(SecuredServer server) => _server = server;

    private static StringContent Flush(string body) => new(body, Encoding.UTF8, "application/json");

    private const string NewList = """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}""";

    public static TheoryData<string, string> Endpoints => new()
    {
        { "POST", "/models/todo-list/any/flush" },
        { "GET", "/models/todo-list/any" },
        { "GET", "/models/todo-list/any/commands" },
        { "GET", "/views/items/any" },
        { "GET", "/search/search?q=milk" },
        { "GET", "/pipelines" },
        { "GET", "/pipelines/search" },
        { "GET", "/pipelines/search/dead-letters" },
        { "POST", "/pipelines/search/rebuild" },
        { "GET", "/feeds/lists?channel=list:any" },
        { "POST", "/auth/feed-token" },
        { "GET", "/metrics" },
        { "GET", "/health/detail" },
        // Routing serves these as the two above.
        { "GET", "/metrics/" },
        { "GET", "/HEALTH/detail/" },
        { "GET", "/pipelines/search/dead-letters/1" },
        { "DELETE", "/pipelines/search/dead-letters/1" },
        { "POST", "/pipelines/search/dead-letters/replay" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Every_endpoint_answers_an_anonymous_caller_401_with_a_problem(string method, string path)
    {
        var response = await _server.Anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "POST" ? Flush("{}") : null });

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("urn:unbundled:problem:unauthenticated", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
    }

    [Fact]
    public async Task Metrics_are_for_administrators()
    {
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Alice.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await _server.Alice.GetAsync("/metrics/")).StatusCode);

        using var scraped = await _server.Root.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("unbundled_pipeline_offset", await scraped.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_stays_open_for_load_balancers()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Anonymous.GetAsync("/health")).StatusCode);
    }

    [Theory]
    [InlineData("not-a-key")]
    [InlineData("old-key-0123456789")]
    public async Task An_unknown_or_revoked_key_is_refused(string key)
    {
        var response = await _server.Client(key).GetAsync("/models/todo-list/any");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task A_reader_reads_but_may_not_flush_and_only_an_administrator_sees_pipelines()
    {
        Assert.Equal(HttpStatusCode.OK, (await _server.Alice.PostAsync("/models/todo-list/reader-test/flush", Flush(NewList))).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _server.Rita.GetAsync("/models/todo-list/reader-test")).StatusCode);
        var write = await _server.Rita.PostAsync("/models/todo-list/reader-test/flush", Flush("""{"baseVersion":1,"commands":[]}"""));
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.Equal("urn:unbundled:problem:forbidden", (string?)(await write.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        foreach (var client in new[] { _server.Alice, _server.Rita })
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/pipelines")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.GetAsync("/pipelines/search/dead-letters")).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("/pipelines/search/rebuild", null)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.OK, (await _server.Root.GetAsync("/pipelines")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _server.Root.GetAsync("/pipelines/search/dead-letters")).StatusCode);
    }

    [Fact]
    public async Task The_caller_recorded_with_commands_is_the_authenticated_one_whatever_headers_say()
    {
        var client = _server.Client("alice-key-0123456789");
        client.DefaultRequestHeaders.Add("X-User", "mallory");
        var response = await client.PostAsync("/models/todo-list/who/flush", Flush(
            """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[{"id":"t","title":"x","createdBy":"mallory"}]}}]}"""));

        var command = (await response.Content.ReadFromJsonAsync<JsonObject>())!["commands"]![0]!;
        Assert.Equal("alice", (string?)command["meta"]!["by"]);
        // Server-computed fields inside a whole created document are the server's too.
        var todo = (await _server.Alice.GetFromJsonAsync<JsonObject>("/models/todo-list/who"))!["state"]!["todos"]![0]!;
        Assert.Equal("alice", (string?)todo["createdBy"]);
        Assert.NotNull((string?)todo["createdAt"]);
        var forged = await client.PostAsync("/models/todo-list/who/flush", Flush("""{"baseVersion":1,"commands":[{"op":"update","path":"/todos/[id=t]/createdBy","value":"mallory"}]}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, forged.StatusCode);
    }

    [Fact]
    public async Task A_jwt_signed_by_the_configured_key_authenticates_with_its_roles_and_tenant()
    {
        var writer = _server.Client(null, new AuthenticationHeaderValue("Bearer", SecuredServer.Jwt("jane", ["writer"], "acme")));
        var reader = _server.Client(null, new AuthenticationHeaderValue("Bearer", SecuredServer.Jwt("joe", ["reader"], "acme")));

        var flushed = await writer.PostAsync("/models/todo-list/jwt-list/flush", Flush(NewList));
        Assert.Equal(HttpStatusCode.OK, flushed.StatusCode);
        Assert.Equal("jane", (string?)(await flushed.Content.ReadFromJsonAsync<JsonObject>())!["commands"]![0]!["meta"]!["by"]);
        Assert.Equal(HttpStatusCode.OK, (await _server.Alice.GetAsync("/models/todo-list/jwt-list")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _server.Bob.GetAsync("/models/todo-list/jwt-list")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/models/todo-list/jwt-list/flush", Flush("""{"baseVersion":1,"commands":[]}"""))).StatusCode);
    }

    public static TheoryData<string> ForgedTokens => new()
    {
        SecuredServer.Jwt("eve", ["admin"], null, key: Encoding.UTF8.GetBytes("another key of at least thirty-two bytes, not ours")),
        SecuredServer.Jwt("eve", ["admin"], null, audience: "someone-else"),
        SecuredServer.Jwt("eve", ["admin"], null, expires: DateTime.UtcNow.AddMinutes(-10)),
    };

    [Theory]
    [MemberData(nameof(ForgedTokens))]
    public async Task A_jwt_with_another_key_audience_or_an_expired_one_is_refused(string token)
    {
        var client = _server.Client(null, new AuthenticationHeaderValue("Bearer", token));

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/pipelines")).StatusCode);
    }

    [Fact]
    public async Task A_flush_that_is_not_json_is_refused_with_415_and_writes_nothing()
    {
        var response = await _server.Alice.PostAsync("/models/todo-list/plain/flush", new StringContent(NewList, Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal(0, (long)(await _server.Root.GetFromJsonAsync<JsonObject>("/models/todo-list/plain"))!["version"]!);
    }

    [Fact]
    public async Task A_request_for_a_host_the_server_does_not_serve_is_refused()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/health");
        request.Headers.Host = "attacker.example";

        Assert.Equal(HttpStatusCode.BadRequest, (await _server.Anonymous.SendAsync(request)).StatusCode);
    }
}

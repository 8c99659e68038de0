using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Security;

/// <summary>
/// Flushes an attacker or a broken client would send, over real HTTP: each is refused with its exact
/// problem type, and afterwards the log, the model and the views are exactly as before.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class HostileInputTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private HttpClient Http => _server.Client;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              index: { connector: lucene, directory: "{{_directory.Path}}/index" }
            pipelines:
              search: { from: lists, projection: todo-items, to: index }
            """, 1);
        (await Http.PostAsync("/models/todo-list/victim/flush", Json("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[{"id":"a","title":"milk"}]}}]}"""))).EnsureSuccessStatusCode();
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    /// <summary>The log's head, the model, and what the search view holds.</summary>
    private async Task<string> StateAsync()
    {
        var head = await _server.Log.ReadHeadAsync(default);
        var model = await Http.GetStringAsync("/models/todo-list/victim");
        var view = (await Http.GetFromJsonAsync<JsonObject>($"/search/search?q=milk&atPosition={head}"))!;
        view.Remove("offset");
        return $"{head}|{model}|{view.ToJsonString()}";
    }

    private async Task RefusedAsync(string body, HttpStatusCode status, string type, string path = "/models/todo-list/victim/flush")
    {
        var before = await StateAsync();

        var response = await Http.PostAsync(path, Json(body));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal($"urn:unbundled:problem:{type}", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("""{"baseVersion":1,"baseVersion":0,"commands":[]}""")]
    [InlineData("""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":{"a":1,"a":2}}]}""")]
    [InlineData("""{"baseVersion":1,"commands":[{"op":"update","op":"delete","path":""}]}""")]
    public Task Duplicate_member_names_anywhere_are_refused(string body) => RefusedAsync(body, HttpStatusCode.BadRequest, "malformed-json");

    [Theory]
    [InlineData("\"CREATE\"")]
    [InlineData("0")]
    [InlineData("\"patch\"")]
    [InlineData("null")]
    public Task An_op_that_is_not_one_of_the_documented_strings_is_refused(string op) =>
        RefusedAsync($$"""{"baseVersion":1,"commands":[{"op":{{op}},"path":"/title","value":"x"}]}""", HttpStatusCode.BadRequest, "malformed-json");

    [Theory]
    [InlineData("""{"baseVersion":1,"commands":null}""")]
    [InlineData("""{"baseVersion":1,"commands":[null]}""")]
    [InlineData("""{"baseVersion":1}""")]
    [InlineData("null")]
    public Task Null_commands_or_a_null_command_list_are_refused(string body) => RefusedAsync(body, HttpStatusCode.BadRequest, "malformed-json");

    [Theory]
    [InlineData("1e400")]
    [InlineData("-1e400")]
    [InlineData("123456789012345678901234567890123456789012345678901234567890")]
    public Task Numbers_no_reader_holds_as_a_finite_double_are_refused(string number) =>
        RefusedAsync($$"""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":{{number}}}]}""", HttpStatusCode.UnprocessableEntity, "command-rejected");

    [Theory]
    [InlineData("""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"a\u0000b"}]}""")]
    [InlineData("""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":{"n\u0000ame":1}}]}""")]
    [InlineData("""{"baseVersion":1,"commands":[{"op":"create","path":"/ti\u0000tle","value":1}]}""")]
    public Task Text_the_postgresql_log_cannot_store_is_refused_rather_than_failing_the_append(string body) =>
        // PostgreSQL's jsonb refuses NUL: accepted, the append failed with a 500 for every flush committed with it, other
        // clients' included. (A lone surrogate escape is malformed JSON to the reader already.)
        RefusedAsync(body, HttpStatusCode.UnprocessableEntity, "command-rejected");

    [Fact]
    public Task A_value_nested_deeper_than_a_document_may_be_is_refused() =>
        RefusedAsync($$"""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":{{new string('[', 40)}}{{new string(']', 40)}}}]}""", HttpStatusCode.UnprocessableEntity, "command-rejected");

    [Fact]
    public Task A_body_nested_past_what_the_reader_takes_is_refused_as_malformed() =>
        RefusedAsync($$"""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":{{new string('[', 200)}}{{new string(']', 200)}}}]}""", HttpStatusCode.BadRequest, "malformed-json");

    [Theory]
    [InlineData("has%20space")]
    [InlineData("semi;colon")]
    [InlineData("x:y")]
    public Task Model_ids_outside_the_documented_characters_are_refused(string id) =>
        RefusedAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}""", HttpStatusCode.BadRequest, "malformed-request", $"/models/todo-list/{id}/flush");

    [Fact]
    public Task A_model_id_longer_than_128_characters_is_refused() =>
        RefusedAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}""", HttpStatusCode.BadRequest, "malformed-request", $"/models/todo-list/{new string('x', 129)}/flush");

    [Theory]
    [InlineData("")]
    [InlineData("key with spaces")]
    [InlineData("é")]
    public async Task An_idempotency_key_outside_printable_ascii_or_too_long_is_refused(string key)
    {
        var before = await StateAsync();
        var request = new HttpRequestMessage(HttpMethod.Post, "/models/todo-list/victim/flush")
        {
            Content = Json($$"""{"baseVersion":1,"idempotencyKey":{{System.Text.Json.JsonSerializer.Serialize(key.Length == 0 ? new string('k', 129) : key)}},"commands":[{"op":"update","path":"/title","value":"x"}]}"""),
        };

        var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("urn:unbundled:problem:malformed-json", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("limit=1000&from=9500")]
    [InlineData("limit=10&from=10000")]
    public async Task A_search_page_past_the_result_window_is_refused(string page)
    {
        var response = await Http.GetAsync($"/search/search?q=milk&{page}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("urn:unbundled:problem:invalid-query", (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
    }

    [Fact]
    public async Task A_body_cut_short_gets_400_and_changes_nothing()
    {
        var before = await StateAsync();
        var body = """{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"cut"}]}""";
        using var socket = new TcpClient();
        await socket.ConnectAsync(_server.Client.BaseAddress!.Host, _server.Client.BaseAddress.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /models/todo-list/victim/flush HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body.Length + 50}\r\n\r\n{body}"));
        socket.Client.Shutdown(SocketShutdown.Send);

        // Kestrel may reset the connection right after its answer: keep what arrived before the reset.
        var received = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            for (int read; (read = await stream.ReadAsync(buffer)) > 0;) received.Write(buffer, 0, read);
        }
        catch (IOException)
        {
        }

        var answer = Encoding.ASCII.GetString(received.ToArray());
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 400"), answer);
        Assert.DoesNotContain("HTTP/1.1 500", answer);
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task A_retried_flush_with_the_same_idempotency_key_gets_the_first_answer_and_is_applied_once()
    {
        var body = """{"baseVersion":1,"commands":[{"op":"create","path":"/todos/-","value":{"id":"b","title":"bread"}}]}""";
        async Task<HttpResponseMessage> SendAsync(string key)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/models/todo-list/victim/flush") { Content = Json(body) };
            request.Headers.Add("Idempotency-Key", key);
            return await Http.SendAsync(request);
        }

        var first = await (await SendAsync("flush-1")).Content.ReadFromJsonAsync<JsonObject>();
        var retry = await SendAsync("flush-1");
        var retried = await retry.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(((long)first!["version"]!, (long)first["position"]!), ((long)retried!["version"]!, (long)retried["position"]!));
        var model = (await Http.GetFromJsonAsync<JsonObject>("/models/todo-list/victim"))!;
        Assert.Equal(2, (long)model["version"]!);
        Assert.Single(model["state"]!["todos"]!.AsArray(), todo => (string?)todo!["id"] == "b");
    }

    [Fact]
    public async Task The_same_commands_under_another_key_are_a_new_flush()
    {
        var body = """{"baseVersion":1,"idempotencyKey":"k-1","commands":[{"op":"update","path":"/title","value":"again"}]}""";

        await Http.PostAsync("/models/todo-list/victim/flush", Json(body));
        await Http.PostAsync("/models/todo-list/victim/flush", Json(body));
        await Http.PostAsync("/models/todo-list/victim/flush", Json(body.Replace("k-1", "k-2")));

        Assert.Equal(3, (long)(await Http.GetFromJsonAsync<JsonObject>("/models/todo-list/victim"))!["version"]!);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>Fixing a pipeline's definition and replaying its dead letters over HTTP, across a restart, as an operator does.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DeadLetterApiTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string Pipelines(string key) => $$"""
        sources:
          lists: { models: [todo-list] }
        sinks:
          journal: { connector: ndjson, directory: "{{_directory.File("journal")}}" }
        pipelines:
          lists:
            from: lists
            select: { key: "{{key}}", fields: { title: after.title } }
            to: journal
        """;

    private Task<RunningServer> StartAsync(string key) =>
        RunningServer.StartWithPipelinesAsync(_directory, Pipelines(key), 1, configure: null, $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}");

    [Fact]
    public async Task A_letter_from_a_broken_definition_is_replayed_through_the_fixed_one_after_a_restart()
    {
        long id;
        await using (var broken = await StartAsync("{after.code}"))
        {
            var flushed = await broken.Client.PostAsync("/models/todo-list/groceries/flush",
                new StringContent("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}]}""", Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.OK, flushed.StatusCode);
            var letters = await WaitForLettersAsync(broken);
            id = (long)letters[0]!["id"]!;
            Assert.Contains("after.code", (string?)letters[0]!["reason"]);

            var shown = await broken.Client.GetFromJsonAsync<JsonObject>($"/pipelines/lists/dead-letters/{id}");
            Assert.Equal("groceries", (string?)shown!["key"]);
        }

        await using var fixedServer = await StartAsync("{key}");
        var replayed = await fixedServer.Client.PostAsJsonAsync("/pipelines/lists/dead-letters/replay", new { all = true });
        Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
        var outcome = (await replayed.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal((1, 0), ((int)outcome["replayed"]!, (int)outcome["failedAgain"]!));

        var view = await fixedServer.Client.GetFromJsonAsync<JsonObject>("/views/lists/groceries");
        Assert.Equal("Groceries", (string?)view!["document"]!["title"]);
        Assert.Equal(HttpStatusCode.NotFound, (await fixedServer.Client.GetAsync($"/pipelines/lists/dead-letters/{id}")).StatusCode);
    }

    [Fact]
    public async Task A_replay_that_names_nothing_and_a_letter_that_is_not_there_are_problems()
    {
        await using var server = await StartAsync("{key}");

        var empty = await server.Client.PostAsJsonAsync("/pipelines/lists/dead-letters/replay", new { });
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("urn:unbundled:problem:malformed-request", (string?)(await empty.Content.ReadFromJsonAsync<JsonObject>())!["type"]);

        var missing = await server.Client.DeleteAsync("/pipelines/lists/dead-letters/42");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("urn:unbundled:problem:dead-letter-not-found", (string?)(await missing.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.PostAsJsonAsync("/pipelines/nope/dead-letters/replay", new { all = true })).StatusCode);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"ids":"all"}""")]
    [InlineData("""{"ids":[1],"ids":[2]}""")]
    [InlineData("""{"limit":-5}""")]
    public async Task A_replay_body_that_is_not_one_is_a_400_problem_never_a_500(string body)
    {
        await using var server = await StartAsync("{key}");

        var response = await server.Client.PostAsync("/pipelines/lists/dead-letters/replay", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_dropped_letter_is_gone()
    {
        await using var server = await StartAsync("{after.code}");
        await server.Client.PostAsync("/models/todo-list/x/flush", new StringContent("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"X","todos":[]}}]}""", Encoding.UTF8, "application/json"));
        var id = (long)(await WaitForLettersAsync(server))[0]!["id"]!;

        Assert.Equal(HttpStatusCode.NoContent, (await server.Client.DeleteAsync($"/pipelines/lists/dead-letters/{id}")).StatusCode);

        var page = await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/lists/dead-letters");
        Assert.Equal((0, 0), ((int)page!["total"]!, (int)page["dropped"]!));
    }

    private static async Task<JsonArray> WaitForLettersAsync(RunningServer server)
    {
        for (var i = 0; i < 150; i++)
        {
            var page = await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/lists/dead-letters");
            if (page!["deadLetters"]!.AsArray() is { Count: > 0 } letters) return letters;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException("no dead letter arrived");
    }

    public void Dispose() => _directory.Dispose();
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Testing;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// Two servers on one PostgreSQL log and one Redis: one runs the pipeline, the other stands by and still
/// serves reads of the view, and keeps serving them after the owner rebuilt the view into a new generation
/// and dropped the one the standby had opened.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class StandbyReadsTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(StandbyReadsTests));
    private readonly string _prefix = $"standby-{Guid.NewGuid():N}:";
    private readonly TempDirectory _directory = new();
    private string _redis = "";

    public async Task InitializeAsync() => _redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");

    private Task<RunningServer> StartAsync(string instance) =>
        RunningServer.StartOnPostgresAsync(postgres.ConnectionString, _schema, _redis, instance, _directory.File("pipelines.yaml"));

    [Fact]
    public async Task A_standby_instance_serves_reads_of_the_view_and_follows_the_generation_a_rebuild_makes_active()
    {
        await File.WriteAllTextAsync(_directory.File("pipelines.yaml"), $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              cache: { connector: redis, prefix: "{{_prefix}}", key: "list:{key}" }
            pipelines:
              titles: { from: lists, select: { fields: { title: after.title } }, to: cache }
            """);
        await using var first = await StartAsync("first");
        await first.WaitForStatusAsync("titles", status => (string?)status["state"] == "Running");
        await using var second = await StartAsync("second");
        await second.WaitForStatusAsync("titles", status => (string?)status["state"] == "Standby" && (string?)status["owner"] == "first");

        var flushed = await first.Client.PostAsync("/models/todo-list/groceries/flush",
            new StringContent("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}]}""", Encoding.UTF8, "application/json"));
        flushed.EnsureSuccessStatusCode();
        Assert.Equal("Groceries", await ReadTitleAsync(second, "Groceries"));

        Assert.Equal(HttpStatusCode.Accepted, (await first.Client.PostAsync("/pipelines/titles/rebuild", null)).StatusCode);
        await first.WaitForStatusAsync("titles", status => (int)status["generation"]! == 1 && status["rebuild"] is null);

        // Generation 0, which the standby opened first, takes no more writes and is dropped after a grace period;
        // the standby's reads follow the owner to generation 1.
        var renamed = await first.Client.PostAsync("/models/todo-list/groceries/flush",
            new StringContent("""{"baseVersion":1,"commands":[{"op":"update","path":"/title","value":"Weekend"}]}""", Encoding.UTF8, "application/json"));
        renamed.EnsureSuccessStatusCode();
        Assert.Equal("Weekend", await ReadTitleAsync(second, "Weekend"));
        Assert.Equal("first", (string?)(await second.Client.GetFromJsonAsync<JsonObject>("/pipelines/titles"))!["owner"]);
    }

    /// <summary>The title the view holds for the list once it is <paramref name="expected"/> (within 10 s), else the last answer.</summary>
    private static async Task<string?> ReadTitleAsync(RunningServer server, string expected)
    {
        string? last = null;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var response = await server.Client.GetAsync("/views/titles/list:groceries");
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && (string?)JsonNode.Parse(last)!["document"]!["title"] == expected) return expected;
            await Task.Delay(100);
        }
        return last;
    }

    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

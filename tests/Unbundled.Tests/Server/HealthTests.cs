using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Server;

/// <summary>Health that monitoring can alert on: a pipeline past a configured threshold is degraded, and the detailed report says which and why.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class HealthTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string Pipelines => $$"""
        sources:
          lists: { models: [todo-list] }
        sinks:
          journal: { connector: ndjson, directory: "{{_directory.File("journal")}}" }
        pipelines:
          lists:
            from: lists
            select: { key: "{after.code}", fields: { title: after.title } }
            to: journal
        """;

    [Fact]
    public async Task Dead_letters_past_the_threshold_degrade_health_and_the_report_names_the_pipeline_and_the_figure()
    {
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, Pipelines, 1, configure: null, "--Unbundled:Health:MaxDeadLetters=0");
        Assert.Equal("Healthy", await server.Client.GetStringAsync("/health"));

        await server.Client.PostAsync("/models/todo-list/x/flush", new StringContent("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"X","todos":[]}}]}""", Encoding.UTF8, "application/json"));
        string status = "";
        for (var i = 0; i < 100 && (status = await server.Client.GetStringAsync("/health")) != "Degraded"; i++) await Task.Delay(100);

        Assert.Equal("Degraded", status);
        var report = (await server.Client.GetFromJsonAsync<JsonObject>("/health/detail"))!;
        Assert.Equal("Degraded", (string?)report["status"]);
        Assert.Equal("lists: 1 dead letters, over 0", (string?)report["checks"]!["pipelines"]!["reason"]);
    }

    [Fact]
    public async Task Within_the_thresholds_the_report_is_healthy()
    {
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, Pipelines, 1, configure: null, "--Unbundled:Health:MaxDeadLetters=5");

        using var report = await server.Client.GetAsync("/health/detail");

        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        Assert.Equal("Healthy", (string?)(await report.Content.ReadFromJsonAsync<JsonObject>())!["status"]);
    }

    public void Dispose() => _directory.Dispose();
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using System.Diagnostics;
using Unbundled.Testing;

namespace Unbundled.Tests.Integration;

/// <summary>The <c>unbundled</c> command as a user runs it.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static async Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [ServerProcess.CliPath, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = LocalServices.RepositoryRoot(),
        })!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await errors);
    }

    [Fact]
    public async Task Validate_accepts_the_demo_pipelines_file()
    {
        var (exitCode, output, _) = await RunAsync("validate");

        Assert.Equal(0, exitCode);
        Assert.Equal("pipelines.yaml: 2 source(s), 11 sink(s), 10 pipeline(s) and 1 switched off (log-to-kafka): valid", output.Trim());
    }

    [Fact]
    public async Task Validate_prints_every_problem_with_its_position_and_fails()
    {
        var file = _directory.File("bad.yaml");
        await File.WriteAllTextAsync(file, "sources:\n  s: { models: [todo-list] }\nsinks:\n  c: { connector: redis, tll: 1h }\npipelines:\n  p: { from: s, to: c, projection: todo-item }\n");

        var (exitCode, _, errors) = await RunAsync("validate", file);

        Assert.Equal(1, exitCode);
        Assert.Equal([
            $"{file}:4:26: error: unknown key 'tll' in sink 'c'. Did you mean 'ttl'?",
            $"{file}:6:36: error: pipeline 'p' names the projection 'todo-item', which is not registered. Did you mean 'todo-items'?",
            $"{file}: 2 problem(s)"], errors.Trim().Split('\n'));
    }

    [Fact]
    public async Task Run_with_a_broken_file_prints_the_same_problems_as_validate_and_fails()
    {
        var file = _directory.File("bad.yaml");
        await File.WriteAllTextAsync(file, "sources:\n  s: { models: [todo-list] }\nsinks:\n  c: { connector: redis, tll: 1h }\npipelines:\n  p: { from: s, to: c, projection: todo-item }\n");

        var validate = await RunAsync("validate", file);
        var run = await RunAsync("run", "--sqlite", _directory.File("log.db"), $"--Unbundled:Pipelines:File={file}");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(validate.Errors.Trim(), run.Errors.Trim());
    }

    [Fact]
    public async Task Run_refuses_to_serve_a_non_loopback_address_without_authentication_and_says_why()
    {
        var (exitCode, _, errors) = await RunAsync("run", "--urls", "http://0.0.0.0:0", "--sqlite", _directory.File("log.db"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith("unbundled: refusing to serve http://0.0.0.0:0 without authentication", errors.Trim());
        Assert.DoesNotContain("   at ", errors);
    }

    [Fact]
    public async Task Hash_key_prints_a_key_and_the_sha256_the_configuration_keeps()
    {
        var (exitCode, output, _) = await RunAsync("hash-key", "my-key");

        Assert.Equal(0, exitCode);
        Assert.Equal(["key:    my-key", $"sha256: {Unbundled.Server.Security.ApiKeyAuthenticationHandler.Hash("my-key")}"], output.Trim().Split('\n'));
        Assert.Equal(64, Unbundled.Server.Security.ApiKeyAuthenticationHandler.Hash("my-key").Length);
    }

    [Fact]
    public async Task Dead_letters_are_listed_shown_replayed_and_dropped_from_the_command_line()
    {
        const string yaml = """
            sources:
              lists: { models: [todo-list] }
            sinks:
              journal: { connector: ndjson, directory: "${CLI_VIEWS}/journal" }
            pipelines:
              lists:
                from: lists
                select: { key: "{after.code}", fields: { title: after.title } }
                to: journal
            """;
        Environment.SetEnvironmentVariable("CLI_VIEWS", _directory.Path);
        await using var server = await Server.RunningServer.StartWithPipelinesAsync(_directory, yaml, 1);
        var url = server.Client.BaseAddress!.ToString();
        foreach (var model in new[] { "a", "b" })
            await server.Client.PostAsync($"/models/todo-list/{model}/flush", new StringContent("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"T","todos":[]}}]}""", System.Text.Encoding.UTF8, "application/json"));
        for (var i = 0; i < 100 && (await server.Services.GetRequiredService<Unbundled.Pipelines.State.IPipelineStateStore>().CountDeadLettersAsync("lists", default)) < 2; i++) await Task.Delay(100);

        var list = await RunAsync("dead-letters", "list", "lists", "--url", url);
        Assert.Equal(0, list.ExitCode);
        Assert.Contains("2 letter(s), 0 dropped", list.Output);
        Assert.Contains("after.code", list.Output);

        var shown = await RunAsync("dead-letters", "show", "lists", "1", "--url", url);
        Assert.Equal("a", (string?)JsonNode.Parse(shown.Output)!["key"]);

        // The definition is still broken, so a replay fails again and says so in its exit code.
        var replay = await RunAsync("dead-letters", "replay", "lists", "1", "--url", url);
        Assert.Equal(3, replay.ExitCode);
        Assert.Contains("0 replayed into the view, 1 failed again", replay.Output);

        Assert.Equal(0, (await RunAsync("dead-letters", "drop", "lists", "2", "--url", url)).ExitCode);
        var dropped = await RunAsync("dead-letters", "drop", "lists", "2", "--url", url);
        Assert.Equal(1, dropped.ExitCode);
        Assert.Contains("has no dead letter 2", dropped.Errors);
    }

    [Fact]
    public async Task Status_says_plainly_when_no_server_answers()
    {
        var (exitCode, _, errors) = await RunAsync("status", "--url", $"http://127.0.0.1:{ServerProcess.FreePort()}");

        Assert.Equal(1, exitCode);
        Assert.StartsWith("No Unbundled server answers at", errors);
    }

    [Fact]
    public async Task Follow_prints_a_feeds_changes_as_json_lines_and_refuses_an_unknown_feed_plainly()
    {
        await using var server = await Server.RunningServer.StartWithPipelinesAsync(_directory, FeedWorkload.Yaml(), 1);
        var writes = new FeedWorkload(server.Client);
        var positions = new[] { await writes.WriteAsync("cli"), await writes.WriteAsync("cli") };

        using var follow = Process.Start(new ProcessStartInfo("dotnet", [ServerProcess.CliPath, "follow", "lists", "list:cli", "--after", "0", "--url", server.Client.BaseAddress!.ToString()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var lines = new List<System.Text.Json.Nodes.JsonNode>();
        try
        {
            using var reading = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (lines.Count < 3 && await follow.StandardOutput.ReadLineAsync(reading.Token) is { } line) lines.Add(System.Text.Json.Nodes.JsonNode.Parse(line)!);
        }
        finally
        {
            follow.Kill(entireProcessTree: true);
        }
        var (exitCode, _, errors) = await RunAsync("follow", "nothing", "list:cli", "--url", server.Client.BaseAddress!.ToString());

        Assert.Equal(["change", "change", "ready"], lines.Select(l => (string?)l["type"]));
        Assert.Equal(positions, lines.Take(2).Select(l => (long)l["position"]!));
        Assert.Equal(1, (long)lines[1]["document"]!["n"]!);
        Assert.Equal(1, exitCode);
        Assert.Contains("no push-feed pipeline is named 'nothing'", errors);
    }

    public void Dispose() => _directory.Dispose();
}

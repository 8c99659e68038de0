using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Unbundled.Server;
using Unbundled.Pipelines.Definition.Yaml;

namespace Unbundled.Cli.Verbs;

/// <summary><c>unbundled run</c>: the server on the configured command log, or the embedded SQLite file.</summary>
internal static class RunVerb
{
    public static Command Create()
    {
        var urls = new Option<string?>("--urls") { Description = $"Where to listen (default {UnbundledApp.DefaultUrl})." };
        var database = new Option<string?>("--sqlite") { Description = "The embedded log's file (default unbundled.db in the current directory)." };
        var anonymous = new Option<bool>("--allow-anonymous") { Description = "Serve a non-loopback address without authentication (anyone who reaches it may do everything)." };
        var command = new Command("run", "Run the server. Further --Section:Key=value arguments override configuration.")
        {
            urls,
            database,
            anonymous,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var hostArgs = new List<string>(parsed.UnmatchedTokens);
            if (parsed.GetValue(urls) is { } listen) hostArgs.Add($"--urls={listen}");
            if (parsed.GetValue(database) is { } file) hostArgs.Add($"--Unbundled:Log:Sqlite:Path={file}");
            if (parsed.GetValue(anonymous)) hostArgs.Add("--Unbundled:Auth:AllowAnonymous=true");
            WebApplication app;
            try
            {
                app = UnbundledApp.Build([.. hostArgs], application: DemoApplication.Register);
            }
            catch (PipelinesFileException invalid)
            {
                return ValidateVerb.Report(invalid, invalid.Problems[0].At.File);
            }
            catch (InvalidOperationException refused)
            {
                // A refusal to start is the operator's to read, not a stack trace.
                await Console.Error.WriteLineAsync($"unbundled: {refused.Message}");
                return 1;
            }
            await using var running = app;
            await app.StartAsync(cancellationToken);
            await app.WaitForShutdownAsync(cancellationToken);
            return 0;
        });
        return command;
    }
}

using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Unbundled.Server;
using Unbundled.Server.Api;

namespace Unbundled.Cli.Verbs;

/// <summary>
/// <c>unbundled rebuild &lt;pipeline&gt;</c>: asks a running server to rebuild a view as a new generation
/// from the start of the log while the current one keeps serving, and shows its progress until the swap.
/// </summary>
internal static class RebuildVerb
{
    public static Command Create()
    {
        var pipeline = new Argument<string>("pipeline") { Description = "The pipeline whose view to rebuild." };
        var url = new Option<string>("--url") { Description = "The server.", DefaultValueFactory = _ => UnbundledApp.DefaultUrl };
        var command = new Command("rebuild", "Rebuild a view from the log beside the live one, then switch reads to it.") { pipeline, url };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var name = parsed.GetValue(pipeline)!;
            using var http = ServerHttp.Create(parsed.GetValue(url)!, TimeSpan.FromSeconds(10));
            HttpResponseMessage started;
            try
            {
                started = await http.PostAsync($"/pipelines/{Uri.EscapeDataString(name)}/rebuild", null, cancellationToken);
            }
            catch (HttpRequestException error)
            {
                Console.Error.WriteLine($"No Unbundled server answers at {http.BaseAddress}: {error.Message}");
                return 1;
            }
            if (!started.IsSuccessStatusCode)
            {
                var problem = await started.Content.ReadFromJsonAsync<JsonObject>(cancellationToken);
                Console.Error.WriteLine((string?)problem?["detail"] ?? $"The server refused: {(int)started.StatusCode}");
                return 1;
            }
            var from = (await started.Content.ReadFromJsonAsync<PipelineStatus>(cancellationToken))!.Generation;

            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask($"{name}: generation {from + 1}");
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        var status = (await http.GetFromJsonAsync<PipelineStatus>($"/pipelines/{Uri.EscapeDataString(name)}", cancellationToken))!;
                        task.MaxValue = Math.Max(1, status.Head);
                        if (status.Rebuild is null && status.Generation > from)
                        {
                            task.Value = task.MaxValue;
                            return;
                        }
                        task.Value = status.Rebuild?.Offset ?? 0;
                        await Task.Delay(250, cancellationToken);
                    }
                });
            Console.WriteLine($"{name} now serves generation {from + 1}.");
            return 0;
        });
        return command;
    }
}

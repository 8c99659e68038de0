using System.CommandLine;
using System.Globalization;
using System.Net.Http.Json;
using Spectre.Console;
using Unbundled.Server;
using Unbundled.Server.Api;

namespace Unbundled.Cli.Verbs;

/// <summary><c>unbundled status</c>: every pipeline of a running server, with its offset, lag, rate and errors.</summary>
internal static class StatusVerb
{
    public static Command Create()
    {
        var url = new Option<string>("--url") { Description = "The server.", DefaultValueFactory = _ => UnbundledApp.DefaultUrl };
        var command = new Command("status", "Show the pipelines of a running server.") { url };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var http = ServerHttp.Create(parsed.GetValue(url)!, TimeSpan.FromSeconds(10));
            List<PipelineStatus>? pipelines;
            try
            {
                pipelines = await http.GetFromJsonAsync<List<PipelineStatus>>("/pipelines", cancellationToken);
            }
            catch (HttpRequestException error)
            {
                Console.Error.WriteLine($"No Unbundled server answers at {http.BaseAddress}: {error.Message}. Start one with 'unbundled run' or pass --url.");
                return 1;
            }
            var table = new Table().AddColumns("pipeline", "state", "generation", "offset", "head", "lag", "lag s", "events/s", "errors", "dead letters");
            foreach (var p in pipelines ?? [])
            {
                var generation = p.Generation + (p.Stale ? " [yellow](stale)[/]" : "") + (p.Rebuild is { } r ? $" → {r.Generation} at {N(r.Offset)}" : "");
                table.AddRow(Markup.Escape(p.Name), Colour(p), generation, N(p.Offset), N(p.Head), N(p.LagEvents),
                    p.LagSeconds.ToString("0.0", CultureInfo.InvariantCulture), p.EventsPerSecond.ToString("0", CultureInfo.InvariantCulture), N(p.Errors), N(p.DeadLetters));
            }
            AnsiConsole.Write(table);
            foreach (var p in (pipelines ?? []).Where(p => p.Stale))
                AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(p.Name)}[/]: its definition changed since its view was built; run 'unbundled rebuild {Markup.Escape(p.Name)}'");
            foreach (var p in (pipelines ?? []).Where(p => p.LastError is not null))
                AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(p.Name)}[/]: last error: {Markup.Escape(p.LastError!)}");
            return 0;
        });
        return command;
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Colour(PipelineStatus status) => status.State switch
    {
        Unbundled.Pipelines.Observability.PipelineState.Running => "[green]Running[/]",
        Unbundled.Pipelines.Observability.PipelineState.CatchingUp => "[blue]CatchingUp[/]",
        Unbundled.Pipelines.Observability.PipelineState.Retrying => "[yellow]Retrying[/]",
        var other => $"[red]{other}[/]",
    };
}

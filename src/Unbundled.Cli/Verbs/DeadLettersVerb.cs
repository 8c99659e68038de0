using System.CommandLine;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Spectre.Console;
using Unbundled.Server;

namespace Unbundled.Cli.Verbs;

/// <summary>
/// <c>unbundled dead-letters list|show|replay|drop &lt;pipeline&gt;</c>: a running server's dead letters of one
/// pipeline; replay sends them through the pipeline's current definition (after a fix) into its view.
/// </summary>
internal static class DeadLettersVerb
{
    public static Command Create()
    {
        var command = new Command("dead-letters", "List, show, replay or drop a pipeline's dead letters.");
        command.Subcommands.Add(List());
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Replay());
        command.Subcommands.Add(Drop());
        return command;
    }

    private static Argument<string> PipelineArgument() => new("pipeline") { Description = "The pipeline." };

    private static Option<string> UrlOption() => new("--url") { Description = "The server.", DefaultValueFactory = _ => UnbundledApp.DefaultUrl };

    private static Command List()
    {
        var (pipeline, url) = (PipelineArgument(), UrlOption());
        var after = new Option<long>("--after") { Description = "Start after this letter id." };
        var limit = new Option<int>("--limit") { Description = "How many letters.", DefaultValueFactory = _ => 100 };
        var command = new Command("list", "A page of the pipeline's dead letters with their reasons.") { pipeline, url, after, limit };
        command.SetAction((parsed, cancellationToken) => CallAsync(parsed.GetValue(url)!, async http =>
        {
            var page = await http.GetAsync($"/pipelines/{Uri.EscapeDataString(parsed.GetValue(pipeline)!)}/dead-letters?after={parsed.GetValue(after)}&limit={parsed.GetValue(limit)}", cancellationToken);
            if (await RefusedAsync(page, cancellationToken)) return 1;
            var body = (await page.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!;
            var table = new Table().AddColumns("id", "position", "key", "failed at", "reason");
            foreach (var letter in body["deadLetters"]!.AsArray())
                table.AddRow(Markup.Escape($"{letter!["id"]}"), Markup.Escape($"{letter["position"]}"), Markup.Escape($"{letter["key"]}"), Markup.Escape($"{letter["failedAt"]}"), Markup.Escape($"{letter["reason"]}"));
            AnsiConsole.Write(table);
            Console.WriteLine($"{body["total"]} letter(s), {body["dropped"]} dropped to make room{(body["next"] is { } next ? $"; next page: --after {next}" : "")}");
            return 0;
        }));
        return command;
    }

    private static Command Show()
    {
        var (pipeline, url) = (PipelineArgument(), UrlOption());
        var id = new Argument<long>("id") { Description = "The letter's id." };
        var command = new Command("show", "One dead letter: the event it holds and why it failed.") { pipeline, id, url };
        command.SetAction((parsed, cancellationToken) => CallAsync(parsed.GetValue(url)!, async http =>
        {
            var letter = await http.GetAsync($"/pipelines/{Uri.EscapeDataString(parsed.GetValue(pipeline)!)}/dead-letters/{parsed.GetValue(id)}", cancellationToken);
            if (await RefusedAsync(letter, cancellationToken)) return 1;
            Console.WriteLine(await letter.Content.ReadAsStringAsync(cancellationToken));
            return 0;
        }));
        return command;
    }

    private static Command Replay()
    {
        var (pipeline, url) = (PipelineArgument(), UrlOption());
        var ids = new Argument<long[]>("ids") { Description = "The letters to replay (none: use --all).", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Replay every letter of the pipeline." };
        var command = new Command("replay", "Replay letters through the pipeline's current definition into its view; those that fail again stay, with the new reason.") { pipeline, ids, all, url };
        command.SetAction((parsed, cancellationToken) => CallAsync(parsed.GetValue(url)!, async http =>
        {
            var chosen = parsed.GetValue(ids) ?? [];
            if (chosen.Length == 0 && !parsed.GetValue(all))
            {
                Console.Error.WriteLine("Name the letters to replay, or pass --all.");
                return 2;
            }
            var body = chosen.Length > 0 ? new JsonObject { ["ids"] = new JsonArray([.. chosen.Select(i => JsonValue.Create(i))]) } : new JsonObject { ["all"] = true };
            var replayed = await http.PostAsJsonAsync($"/pipelines/{Uri.EscapeDataString(parsed.GetValue(pipeline)!)}/dead-letters/replay", body, cancellationToken);
            if (await RefusedAsync(replayed, cancellationToken)) return 1;
            var outcome = (await replayed.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!;
            foreach (var letter in outcome["letters"]!.AsArray().Where(l => !(bool)l!["written"]!))
                Console.WriteLine($"letter {letter!["id"]} failed again: {letter["reason"]}");
            Console.WriteLine($"{outcome["replayed"]} replayed into the view, {outcome["failedAgain"]} failed again");
            return (int)outcome["failedAgain"]! == 0 ? 0 : 3;
        }));
        return command;
    }

    private static Command Drop()
    {
        var (pipeline, url) = (PipelineArgument(), UrlOption());
        var id = new Argument<long>("id") { Description = "The letter's id." };
        var command = new Command("drop", "Drop a dead letter without replaying it.") { pipeline, id, url };
        command.SetAction((parsed, cancellationToken) => CallAsync(parsed.GetValue(url)!, async http =>
        {
            var dropped = await http.DeleteAsync($"/pipelines/{Uri.EscapeDataString(parsed.GetValue(pipeline)!)}/dead-letters/{parsed.GetValue(id)}", cancellationToken);
            if (await RefusedAsync(dropped, cancellationToken)) return 1;
            Console.WriteLine($"letter {parsed.GetValue(id)} dropped");
            return 0;
        }));
        return command;
    }

    private static async Task<int> CallAsync(string url, Func<HttpClient, Task<int>> call)
    {
        using var http = ServerHttp.Create(url, TimeSpan.FromSeconds(90));
        try
        {
            return await call(http);
        }
        catch (HttpRequestException error)
        {
            Console.Error.WriteLine($"No Unbundled server answers at {http.BaseAddress}: {error.Message}");
            return 1;
        }
    }

    private static async Task<bool> RefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode) return false;
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        var detail = text.Length > 0 && text.TrimStart().StartsWith('{') ? (string?)JsonNode.Parse(text)?["detail"] : null;
        Console.Error.WriteLine(detail ?? $"The server refused: {(int)response.StatusCode}");
        return true;
    }
}

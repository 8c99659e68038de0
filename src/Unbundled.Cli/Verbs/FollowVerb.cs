using System.CommandLine;
using System.Text.Json.Nodes;
using Unbundled.Client;
using Unbundled.Server;

namespace Unbundled.Cli.Verbs;

/// <summary>
/// <c>unbundled follow &lt;pipeline&gt; &lt;channel&gt;</c>: prints a push feed's messages as JSON lines, resuming by
/// itself after drops, so a feed composes with jq, grep and the rest of the shell.
/// </summary>
internal static class FollowVerb
{
    public static Command Create()
    {
        var pipeline = new Argument<string>("pipeline") { Description = "The push-feed pipeline." };
        var channel = new Argument<string>("channel") { Description = "The channel to follow, e.g. list:groceries." };
        var after = new Option<long?>("--after") { Description = "Start after this log position (default: from now on)." };
        var url = new Option<string>("--url") { Description = "The server.", DefaultValueFactory = _ => UnbundledApp.DefaultUrl };
        var webSocket = new Option<bool>("--websocket") { Description = "Use a WebSocket instead of Server-Sent Events." };
        var command = new Command("follow", "Print a push feed's changes as JSON lines until interrupted.") { pipeline, channel, after, url, webSocket };
        command.SetAction(async (parsed, cancellationToken) =>
        {
            using var http = ServerHttp.Create(parsed.GetValue(url)!, Timeout.InfiniteTimeSpan);
            var feed = new FeedClient(http, parsed.GetValue(webSocket) ? FeedTransport.WebSocket : FeedTransport.ServerSentEvents);
            try
            {
                await foreach (var message in feed.FollowAsync(parsed.GetValue(pipeline)!, parsed.GetValue(channel)!, parsed.GetValue(after), cancellationToken))
                {
                    Console.Out.WriteLine(Line(message));
                    await Console.Out.FlushAsync(cancellationToken);
                }
            }
            catch (FeedRefusedException refused)
            {
                Console.Error.WriteLine(refused.Message);
                return 1;
            }
            catch (HttpRequestException error)
            {
                Console.Error.WriteLine($"No Unbundled server answers at {http.BaseAddress}: {error.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Ctrl+C: the normal way to stop following.
            }
            return 0;
        });
        return command;
    }

    private static string Line(FeedEvent message)
    {
        var line = new JsonObject { ["type"] = message.Type, ["channel"] = message.Channel, ["position"] = message.Position };
        if (message.IsChange)
        {
            line["key"] = message.Key;
            line["version"] = message.Version;
            line["op"] = message.IsDelete ? "delete" : "upsert";
            line["document"] = message.Document?.DeepClone();
        }
        if (message.Reason is not null) line["reason"] = message.Reason;
        return line.ToJsonString();
    }
}

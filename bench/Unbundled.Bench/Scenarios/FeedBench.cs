using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Bench.Scenarios;

/// <summary>What the two feed scenarios share: a pipelines file with one push feed per todo list, writes, and bare SSE subscribers.</summary>
internal static class FeedBench
{
    /// <summary>One push-feed pipeline <c>lists</c>, a channel per list.</summary>
    public const string Pipelines = """
        sources:
          lists:
            models: [todo-list]
        sinks:
          feed:
            connector: push-feed
            channel: "list:{key}"
        pipelines:
          lists:
            from: lists
            select:
              key: "{key}"
              fields:
                title: after.title
                n: after.n
            to: feed
        """;

    /// <summary>Creates list <paramref name="list"/> or bumps its counter; answers the new version.</summary>
    public static async Task<long> WriteAsync(HttpClient http, string list, long version, CancellationToken cancellationToken = default)
    {
        object command = version == 0
            ? new { op = "create", path = "", value = (JsonNode)new JsonObject { ["title"] = list, ["n"] = 0 } }
            : new { op = "update", path = "/n", value = (JsonNode)version };
        using var response = await http.PostAsJsonAsync($"/models/todo-list/{list}/flush", new { baseVersion = version, commands = new[] { command } }, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (long)(await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken))!["version"]!;
    }

    /// <summary>
    /// Follows <paramref name="channel"/> over SSE from now on, calling <paramref name="onChange"/> with the
    /// position of each change as soon as its id line arrives; completes <paramref name="ready"/> when live.
    /// </summary>
    public static async Task SubscribeAsync(HttpClient http, string channel, Action<long> onChange, TaskCompletionSource ready, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/feeds/lists?channel={channel}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        long? id = null;
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line.AsSpan(4));
                else if (line == "event: change" && id is { } position) onChange(position);
                else if (line == "event: ready") ready.TrySetResult();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The scenario is over.
        }
    }
}

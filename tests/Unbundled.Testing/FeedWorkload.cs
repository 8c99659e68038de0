using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Testing;

/// <summary>
/// The pipelines file and writes that feed tests and feed benchmarks share: todo lists whose counter <c>n</c> goes up, one channel
/// per list (<c>list:&lt;id&gt;</c>), and the position of every change each channel must deliver.
/// </summary>
public sealed class FeedWorkload(HttpClient http)
{
    private readonly ConcurrentDictionary<string, long> _versions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<long>> _positions = new(StringComparer.Ordinal);

    /// <summary>A pipelines file with one push-feed pipeline <c>lists</c>.</summary>
    public static string Yaml(int maxCatchUp = 100_000, int buffer = 1000, string heartbeat = "15s", string title = "after.title") => $$"""
        sources:
          lists:
            models: [todo-list]
        sinks:
          feed:
            connector: push-feed
            channel: "list:{key}"
            max-catch-up: {{maxCatchUp}}
            buffer: {{buffer}}
            heartbeat: {{heartbeat}}
        pipelines:
          lists:
            from: lists
            select:
              key: "{key}"
              fields:
                title: {{title}}
                n: after.n
            to: feed
        """;

    /// <summary>The channel of list <paramref name="list"/>.</summary>
    public static string Channel(string list) => $"list:{list}";

    /// <summary>Creates the list, or sets its counter to the next value (or its title, when given), through <paramref name="via"/> if given; answers the change's position.</summary>
    public async Task<long> WriteAsync(string list, string? title = null, HttpClient? via = null)
    {
        var version = _versions.GetValueOrDefault(list);
        object command = version == 0
            ? new { op = "create", path = "", value = (JsonNode)new JsonObject { ["title"] = title ?? list, ["n"] = 0 } }
            : title is null
                ? new { op = "update", path = "/n", value = (JsonNode)version }
                : new { op = "update", path = "/title", value = (JsonNode)title };
        using var response = await (via ?? http).PostAsJsonAsync($"/models/todo-list/{list}/flush", new { baseVersion = version, commands = new[] { command } });
        response.EnsureSuccessStatusCode();
        var answer = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        _versions[list] = (long)answer["version"]!;
        var position = (long)answer["position"]!;
        _positions.GetOrAdd(Channel(list), _ => new ConcurrentQueue<long>()).Enqueue(position);
        return position;
    }

    /// <summary>Every position written to <paramref name="channel"/>, in order.</summary>
    public IReadOnlyList<long> PositionsOf(string channel) => _positions.TryGetValue(channel, out var queue) ? [.. queue] : [];

    /// <summary>The positions of <paramref name="channel"/> after <paramref name="after"/>.</summary>
    public IReadOnlyList<long> PositionsAfter(string channel, long after) => PositionsOf(channel).Where(p => p > after).ToList();
}

using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Integration.Oracle;

/// <summary>The random flushes of the crash and scale-out tests: exactly the commands <see cref="TodoItemsOracle"/> understands.</summary>
public static class TodoWorkload
{
    /// <summary>Flushes one random command to one of six lists; returns the list and version when the server acknowledged it.</summary>
    public static async Task<(string List, long Version)?> FlushSomethingAsync(HttpClient http, Random random)
    {
        var list = $"list-{random.Next(6)}";
        try
        {
            var model = (await http.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!;
            var version = (long)model["version"]!;
            var todos = model["state"]?["todos"] as JsonArray;
            var roll = random.Next(100);
            var command = todos is null ? """{"op":"create","path":"","value":{"title":"T","todos":[]}}"""
                : roll < 50 || todos.Count == 0 ? $$$"""{"op":"create","path":"/todos/-","value":{"id":"{{{Guid.NewGuid():N}}}","title":"t{{{roll}}}"}}"""
                : roll < 70 ? """{"op":"update","path":"/todos/0/done","value":true}"""
                : roll < 85 ? """{"op":"delete","path":"/todos/0"}"""
                : roll < 95 ? $$"""{"op":"update","path":"/title","value":"T{{roll}}"}"""
                : """{"op":"delete","path":""}""";
            using var response = await http.PostAsync($"/models/todo-list/{list}/flush",
                new StringContent($$"""{"baseVersion":{{version}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode) return null;
            return (list, (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!);
        }
        catch (Exception error) when (error is HttpRequestException or HttpIOException or TaskCanceledException or System.Text.Json.JsonException)
        {
            // The server is being killed: whether this flush landed, the log alone says.
            await Task.Delay(50);
            return null;
        }
    }

    /// <summary>Flushes one random change to the <c>user</c> profile named like one of the six lists (created, renamed or deleted); true when acknowledged.</summary>
    public static async Task<bool> FlushProfileAsync(HttpClient http, Random random)
    {
        var id = $"list-{random.Next(6)}";
        try
        {
            var model = (await http.GetFromJsonAsync<JsonObject>($"/models/user/{id}"))!;
            var version = (long)model["version"]!;
            var roll = random.Next(100);
            var command = model["state"] is null ? $$$"""{"op":"create","path":"","value":{"name":"n{{{roll}}}"}}"""
                : roll < 85 ? $$"""{"op":"update","path":"/name","value":"n{{roll}}"}"""
                : """{"op":"delete","path":""}""";
            using var response = await http.PostAsync($"/models/user/{id}/flush",
                new StringContent($$"""{"baseVersion":{{version}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
            return response.IsSuccessStatusCode;
        }
        catch (Exception error) when (error is HttpRequestException or HttpIOException or TaskCanceledException or System.Text.Json.JsonException)
        {
            await Task.Delay(50);
            return false;
        }
    }
}

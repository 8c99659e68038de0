using Unbundled.Testing;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;

using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>Redis stops for 20 seconds while clients keep flushing: the cache pipeline waits and catches up, the others never notice.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RedisOutageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_redis_outage_pauses_only_the_cache_pipeline_and_loses_nothing()
    {
        var port = ServerProcess.FreePort();
        var redis = RedisProcess.Start(port, _directory.Path);
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              cache: { connector: redis, connection: "127.0.0.1:{{port}}", key: "todo:{listId}:{id}" }
              journal: { connector: ndjson, directory: "{{_directory.Path}}/journal" }
            pipelines:
              items-cache: { from: lists, projection: todo-items, to: cache }
              items-journal: { from: lists, projection: todo-items, to: journal }
            """);
        await using var server = await RunningServer.StartAsync($"--Unbundled:Pipelines:File={pipelines}");
        var http = server.Client;
        try
        {
            await FlushAsync(http, "a", 0, """{"op":"create","path":"","value":{"title":"A","todos":[]}}""");

            redis.Kill();
            await redis.WaitForExitAsync();
            var outage = Stopwatch.StartNew();
            var version = 1L;
            var added = new List<string>();
            while (outage.Elapsed < TimeSpan.FromSeconds(20))
            {
                var id = $"t{added.Count}";
                version = await FlushAsync(http, "a", version, $$$"""{"op":"create","path":"/todos/-","value":{"id":"{{{id}}}","title":"x"}}""");
                added.Add(id);
                await Task.Delay(200);
            }

            // The journal pipeline keeps up (it may still be on the very last flush, so give it a moment).
            var journal = (await http.GetFromJsonAsync<JsonObject>("/pipelines/items-journal"))!;
            for (var attempt = 0; attempt < 50 && (long)journal["offset"]! < (long)journal["head"]!; attempt++)
            {
                await Task.Delay(100);
                journal = (await http.GetFromJsonAsync<JsonObject>("/pipelines/items-journal"))!;
            }
            var cache = (await http.GetFromJsonAsync<JsonObject>("/pipelines/items-cache"))!;
            Assert.Equal((long)journal["head"]!, (long)journal["offset"]!);
            Assert.True((string?)cache["state"] == "Retrying", cache.ToJsonString());
            Assert.True((long)cache["offset"]! < version);
            var health = await http.GetAsync("/health");
            Assert.Equal("Degraded", await health.Content.ReadAsStringAsync());

            redis = RedisProcess.Start(port, _directory.Path);
            var last = added[^1];
            var read = await http.GetAsync($"/views/items-cache/todo:a:{last}?atPosition={version}&timeoutMs=30000");
            Assert.True(read.IsSuccessStatusCode, await read.Content.ReadAsStringAsync());
            foreach (var id in added)
                Assert.True((await http.GetAsync($"/views/items-cache/todo:a:{id}")).IsSuccessStatusCode, $"todo {id} is missing from the cache");
        }
        finally
        {
            redis.Kill();
        }
    }

    private static async Task<long> FlushAsync(HttpClient http, string list, long baseVersion, string command)
    {
        var response = await http.PostAsync($"/models/todo-list/{list}/flush",
            new StringContent($$"""{"baseVersion":{{baseVersion}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["version"]!;
    }


    public void Dispose() => _directory.Dispose();
}

using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Unbundled.Testing;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Tests.Server;

using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// A real Redis restarted without persistence in the middle of a run: the pipeline notices its view
/// lost everything, replays the log into it by itself, and says so in status and health.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RedisLossTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_redis_that_restarts_empty_is_noticed_and_refilled_from_the_log_with_no_manual_step()
    {
        var port = ServerProcess.FreePort();
        var redis = RedisProcess.Start(port);
        try
        {
            var pipelines = _directory.File("pipelines.yaml");
            await File.WriteAllTextAsync(pipelines, $$"""
                sources:
                  lists: { models: [todo-list] }
                sinks:
                  cache: { connector: redis, connection: "127.0.0.1:{{port}}", key: "todo:{listId}:{id}" }
                  groups: { connector: redis, connection: "127.0.0.1:{{port}}", key: "group:{group}" }
                pipelines:
                  items-cache: { from: lists, projection: todo-items, to: cache, batch: { max-size: 20 } }
                  # An aggregate's members survive in the log's database; the groups Redis lost are written again all the same.
                  todos-per-list:
                    from: lists
                    projection: todo-items
                    aggregate: { group-by: "{after.listId}", fields: { todos: count } }
                    to: groups
                    batch: { max-size: 20 }
                """);
            await using var server = await RunningServer.StartAsync($"--Unbundled:Pipelines:File={pipelines}");
            var http = server.Client;
            await server.WaitForPipelinesAsync(2);
            var expected = new Dictionary<string, string>();
            for (var i = 0; i < 40; i++) await CreateAsync(http, $"before-{i}", expected);
            await WaitForViewAsync(http, $"todo:before-39:t");

            redis.Kill();
            await redis.WaitForExitAsync();
            redis = RedisProcess.Start(port);
            for (var i = 0; i < 10; i++) await CreateAsync(http, $"after-{i}", expected);

            // Every document, written before the loss or after it, is back, with no step taken by anyone.
            var last = await WaitForViewAsync(http, "todo:after-9:t");
            await using var client = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port}");
            var keys = client.GetServers()[0].Keys(pattern: "todo:*").Select(k => k.ToString()).Order().ToList();
            Assert.Equal(expected.Keys.Order(), keys);
            foreach (var (key, title) in expected)
                Assert.Equal(title, (string?)JsonNode.Parse((await client.GetDatabase().StringGetAsync(key)).ToString())!["title"]);

            for (var attempt = 0; attempt < 300 && client.GetServers()[0].Keys(pattern: "group:*").Count() < expected.Count; attempt++) await Task.Delay(100);
            Assert.Equal(expected.Keys.Select(k => $"group:{k.Split(':')[1]}").Order(), client.GetServers()[0].Keys(pattern: "group:*").Select(k => k.ToString()).Order());

            var status = server.Services.GetRequiredService<Unbundled.Pipelines.Observability.PipelineMonitor>().Pipelines.Single(p => p.Pipeline == "items-cache");
            Assert.True(status.Repairs >= 1);
            Assert.Contains("lost", status.LastRepair);
        }
        finally
        {
            redis.Kill();
        }
    }

    private static async Task CreateAsync(HttpClient http, string list, Dictionary<string, string> expected)
    {
        var response = await http.PostAsync($"/models/todo-list/{list}/flush", new StringContent(
            $$$"""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[{"id":"t","title":"{{{list}}}"}]}}]}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        expected[$"todo:{list}:t"] = list;
    }

    private static async Task<HttpResponseMessage> WaitForViewAsync(HttpClient http, string key)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            var response = await http.GetAsync($"/views/items-cache/{key}");
            if (response.IsSuccessStatusCode) return response;
            await Task.Delay(100);
        }
        throw new TimeoutException($"{key} never reached the view");
    }


    public void Dispose() => _directory.Dispose();
}

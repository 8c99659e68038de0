using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Server.Security;
using Unbundled.Tests.Feeds;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Security;

/// <summary>Limits that keep one caller from hurting the others: flush rates, feed connections, stalled catch-ups.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class CallerLimitTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static string[] Keys(params string[] names) =>
        [.. names.SelectMany((name, i) => new[]
        {
            $"--Unbundled:Auth:ApiKeys:{i}:Name={name}", $"--Unbundled:Auth:ApiKeys:{i}:Sha256={ApiKeyAuthenticationHandler.Hash(name + "-key")}",
            $"--Unbundled:Auth:ApiKeys:{i}:Roles:0=writer",
        })];

    private static HttpClient As(RunningServer server, string name)
    {
        var client = new HttpClient { BaseAddress = server.Client.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", name + "-key");
        return client;
    }

    private static async Task<HttpResponseMessage> FlushAsync(HttpClient client, string list, long version) =>
        await client.PostAsync($"/models/todo-list/{list}/flush", new StringContent(version == 0
            ? """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}"""
            : $$"""{"baseVersion":{{version}},"commands":[{"op":"update","path":"/title","value":"t{{version}}"}]}""", Encoding.UTF8, "application/json"));

    [Fact]
    public async Task A_caller_over_its_flush_rate_gets_429_with_retry_after_and_another_caller_is_not_slowed()
    {
        await using var server = await RunningServer.StartAsync([.. Keys("alice", "bob"), "--Unbundled:Server:FlushesPerSecond=5"]);
        using var alice = As(server, "alice");
        using var bob = As(server, "bob");

        var accepted = 0L;
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 40 && refused is null; i++)
        {
            var response = await FlushAsync(alice, "flood", accepted);
            if (response.StatusCode == HttpStatusCode.OK) accepted++;
            else refused = response;
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal("urn:unbundled:problem:rate-limited", (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(accepted, (long)(await alice.GetFromJsonAsync<JsonObject>("/models/todo-list/flood"))!["version"]!);
        Assert.Equal(HttpStatusCode.OK, (await FlushAsync(bob, "calm", 0)).StatusCode);
    }

    [Fact]
    public async Task A_caller_holds_a_bounded_number_of_feed_connections()
    {
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, """
            sources:
              lists: { models: [todo-list] }
            sinks:
              feed: { connector: push-feed, channel: "list:{key}" }
            pipelines:
              lists: { from: lists, select: { key: "{key}", fields: { title: after.title } }, to: feed }
            """, 1, [.. Keys("alice"), "--Unbundled:Server:FeedConnectionsPerCaller=2"]);
        using var alice = As(server, "alice");

        await using var first = await RawSse.OpenAsync(alice, "/feeds/lists?channel=list:a");
        await using var second = await RawSse.OpenAsync(alice, "/feeds/lists?channel=list:b");
        await using var third = await RawSse.OpenAsync(alice, "/feeds/lists?channel=list:c");

        Assert.Equal(HttpStatusCode.OK, first.Response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.Response.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Response.StatusCode);
    }

    [Fact]
    public async Task Subscribers_that_never_read_their_catch_up_are_cut_off_and_cannot_hold_every_slot()
    {
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, """
            sources:
              lists: { models: [todo-list] }
            sinks:
              feed: { connector: push-feed, channel: "list:{key}", catch-up-timeout: 1s }
            pipelines:
              lists: { from: lists, select: { key: "{key}", fields: { title: after.title } }, to: feed }
            """, 1);
        // A catch-up far larger than what socket buffers absorb: 600 changes of 32 KB each.
        var big = new string('x', 32 * 1024);
        for (var version = 0; version < 600; version++)
        {
            var body = version == 0
                ? """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}"""
                : $$"""{"baseVersion":{{version}},"commands":[{"op":"update","path":"/title","value":"{{big}}{{version}}"}]}""";
            (await server.Client.PostAsync("/models/todo-list/big/flush", new StringContent(body, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
        }

        // More stalled subscribers than there are catch-up slots: each asks for everything and never reads.
        var stalled = new List<TcpClient>();
        for (var i = 0; i < 2 * Environment.ProcessorCount + 4; i++)
        {
            var socket = new TcpClient { ReceiveBufferSize = 4096 };
            await socket.ConnectAsync(server.Client.BaseAddress!.Host, server.Client.BaseAddress.Port);
            await socket.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /feeds/lists?channel=list:big&after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"));
            stalled.Add(socket);
        }
        try
        {
            await Task.Delay(500);
            await using var reader = await RawSse.OpenAsync(server.Client, "/feeds/lists?channel=list:big&after=590");
            var events = await reader.ReadUntilAsync("ready").WaitAsync(TimeSpan.FromSeconds(60));

            Assert.Equal(10, events.Count(e => e.Event == "change"));
        }
        finally
        {
            foreach (var socket in stalled) socket.Dispose();
        }
    }

    public void Dispose() => _directory.Dispose();
}

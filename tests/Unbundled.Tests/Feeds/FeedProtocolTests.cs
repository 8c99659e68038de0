using Unbundled.Testing;
using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Client;
using Unbundled.Feeds;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Feeds;

/// <summary>The push-feed protocol of docs/feeds.md over real HTTP: SSE and WebSocket, catch-up, hand-over, control messages and refusals.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedProtocolTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;
    private FeedWorkload _writes = null!;

    public async Task InitializeAsync()
    {
        _server = await RunningServer.StartWithPipelinesAsync(_directory, FeedWorkload.Yaml(maxCatchUp: 50, heartbeat: "300ms"), pipelines: 1);
        _writes = new FeedWorkload(_server.Client);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task An_SSE_subscriber_gets_what_it_missed_from_the_log_then_ready_then_live_changes_each_once_in_order()
    {
        var first = await _writes.WriteAsync("a");
        await _writes.WriteAsync("b");
        await _writes.WriteAsync("a");
        await _writes.WriteAsync("a");

        await using var feed = await RawSse.OpenAsync(_server.Client, $"/feeds/lists?channel=list:a&after={first}");
        Assert.Equal("text/event-stream", feed.Response.Content.Headers.ContentType?.MediaType);
        var catchUp = await feed.ReadUntilAsync("ready");
        var live = await _writes.WriteAsync("a");
        var next = await NextChangeAsync(feed);

        Assert.Equal(_writes.PositionsAfter("list:a", first).SkipLast(1), catchUp.SkipLast(1).Select(e => long.Parse(e.Id!)));
        Assert.All(catchUp.SkipLast(1), e => Assert.Equal("change", e.Event));
        Assert.Equal(2, (long)catchUp[^2].Data!["document"]!["n"]!);
        Assert.Equal(live, long.Parse(next.Id!));
        Assert.Equal("list:a", (string?)next.Data!["channel"]);
        Assert.Equal(4, (long)next.Data["version"]!);
        Assert.Equal(3, (long)next.Data["document"]!["n"]!);
    }

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_resumes_after_that_change_with_nothing_missed_or_repeated()
    {
        var positions = new List<long>();
        for (var i = 0; i < 6; i++) positions.Add(await _writes.WriteAsync("r"));

        await using (var feed = await RawSse.OpenAsync(_server.Client, "/feeds/lists?channel=list:r&after=0"))
        {
            var seen = await feed.ReadUntilAsync("ready");
            Assert.Equal(positions, seen.SkipLast(1).Select(e => long.Parse(e.Id!)));
        }
        await using var resumed = await RawSse.OpenAsync(_server.Client, "/feeds/lists?channel=list:r&after=0", lastEventId: positions[2].ToString());
        var rest = await resumed.ReadUntilAsync("ready");

        Assert.Equal(positions.Skip(3), rest.SkipLast(1).Select(e => long.Parse(e.Id!)));
    }

    [Fact]
    public async Task A_delete_is_a_change_with_a_null_document()
    {
        var created = await _writes.WriteAsync("d");
        await using var feed = await RawSse.OpenAsync(_server.Client, $"/feeds/lists?channel=list:d&after={created}");
        await feed.ReadUntilAsync("ready");
        using var deleted = await _server.Client.PostAsJsonAsync("/models/todo-list/d/flush", new { baseVersion = 1, commands = new[] { new { op = "delete", path = "" } } });
        deleted.EnsureSuccessStatusCode();

        var change = await NextChangeAsync(feed);
        Assert.Equal("delete", (string?)change.Data!["op"]);
        Assert.Null(change.Data["document"]);
    }

    [Fact]
    public async Task A_subscriber_too_far_behind_is_told_to_refetch_and_the_connection_goes_on_live()
    {
        for (var i = 0; i < 60; i++) await _writes.WriteAsync($"far{i % 3}");

        await using var feed = await RawSse.OpenAsync(_server.Client, "/feeds/lists?channel=list:far0&after=1");
        var refetch = await feed.NextAsync();
        var ready = await feed.ReadUntilAsync("ready");
        var live = await _writes.WriteAsync("far0");
        var next = await NextChangeAsync(feed);

        Assert.Equal("must-refetch", refetch!.Event);
        var head = await _server.Log.ReadHeadAsync(default);
        Assert.Equal((head - 1).ToString(), refetch.Id);
        Assert.Contains("behind", (string?)refetch.Data!["reason"]);
        Assert.Single(ready);
        Assert.Equal(live, long.Parse(next.Id!));
    }

    [Fact]
    public async Task A_position_beyond_the_end_of_the_source_is_a_refetch_too_not_an_error()
    {
        await _writes.WriteAsync("future");
        await using var feed = await RawSse.OpenAsync(_server.Client, "/feeds/lists?channel=list:future&after=999999");

        var refetch = await feed.NextAsync();
        Assert.Equal("must-refetch", refetch!.Event);
        Assert.Contains("beyond the end of the source", (string?)refetch.Data!["reason"]);
    }

    [Fact]
    public async Task Idle_connections_get_heartbeats()
    {
        // A heartbeat is an SSE comment, which parsers rightly hide: the wire itself is read here.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/feeds/lists?channel=list:quiet");
        request.Headers.Accept.Add(new System.Net.Http.Headers.MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await _server.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var wire = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var lines = new List<string>();
        string? line;
        while ((line = await wire.ReadLineAsync(timeout.Token)) is not null && line != ": heartbeat") lines.Add(line);

        Assert.Equal(": heartbeat", line);
        Assert.Contains("event: ready", lines);
    }

    [Fact]
    public async Task A_model_version_is_a_starting_point_too()
    {
        var positions = new List<long>();
        for (var i = 0; i < 4; i++) positions.Add(await _writes.WriteAsync("v"));

        await using var feed = await RawSse.OpenAsync(_server.Client, "/feeds/lists?channel=list:v&model=todo-list/v&version=2");
        var seen = await feed.ReadUntilAsync("ready");

        Assert.Equal(positions.Skip(2), seen.SkipLast(1).Select(e => long.Parse(e.Id!)));
    }

    [Fact]
    public async Task A_WebSocket_subscriber_gets_the_same_messages_as_frames()
    {
        var first = await _writes.WriteAsync("ws");
        var second = await _writes.WriteAsync("ws");
        using var socket = await SubscribeAsync($$"""{"type":"subscribe","channel":"list:ws","after":{{first}}}""");

        var caughtUp = await ReceiveAsync(socket);
        var ready = await ReceiveAsync(socket);
        var live = await _writes.WriteAsync("ws");
        var next = await ReceiveAsync(socket);

        Assert.Equal(("change", second), ((string)caughtUp["type"]!, (long)caughtUp["position"]!));
        Assert.Equal(("ready", second), ((string)ready["type"]!, (long)ready["position"]!));
        Assert.Equal(("change", live), ((string)next["type"]!, (long)next["position"]!));
    }

    [Fact]
    public async Task A_malformed_WebSocket_subscription_gets_an_error_frame_and_a_close()
    {
        using var socket = await SubscribeAsync("""{"type":"subscribe","after":"soon"}""");

        var error = await ReceiveAsync(socket);
        var buffer = new byte[1024];
        var closing = await socket.ReceiveAsync(buffer, default);

        Assert.Equal("error", (string?)error["type"]);
        Assert.Equal(400, (int)error["status"]!);
        Assert.Equal(WebSocketMessageType.Close, closing.MessageType);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, socket.CloseStatus);
    }

    [Theory]
    [InlineData("/feeds/nothing?channel=list:a", 404, "urn:unbundled:problem:unknown-feed")]
    [InlineData("/feeds/lists", 400, "urn:unbundled:problem:feed-request")]
    [InlineData("/feeds/lists?channel=todo:a", 404, "urn:unbundled:problem:unknown-channel")]
    [InlineData("/feeds/lists?channel=list:a&after=-3", 400, "urn:unbundled:problem:feed-request")]
    [InlineData("/feeds/lists?channel=list:a&model=todo-list&version=1", 400, "urn:unbundled:problem:feed-request")]
    [InlineData("/feeds/lists?channel=list:a&model=todo-list/a&version=77", 400, "urn:unbundled:problem:feed-request")]
    public async Task Bad_subscriptions_get_a_problem_response(string url, int status, string type)
    {
        using var response = await _server.Client.GetAsync(url);
        var problem = await response.Content.ReadFromJsonAsync<JsonObject>();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(type, (string?)problem!["type"]);
        Assert.False(string.IsNullOrEmpty((string?)problem["detail"]));
    }

    [Fact]
    public async Task The_NET_client_follows_over_both_transports_and_skips_control_noise()
    {
        var positions = new List<long> { await _writes.WriteAsync("client"), await _writes.WriteAsync("client") };
        foreach (var transport in new[] { FeedTransport.ServerSentEvents, FeedTransport.WebSocket })
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var client = new FeedClient(_server.Client, transport);
            var changes = new List<long>();
            await foreach (var message in client.FollowAsync("lists", "list:client", 0, cancel.Token))
            {
                if (message.IsChange) changes.Add(message.Position);
                if (message.IsReady) break;
            }
            Assert.Equal(positions, changes);
        }
    }

    private async Task<ClientWebSocket> SubscribeAsync(string message)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(_server.Client.BaseAddress!.ToString().Replace("http", "ws") + "feeds/lists"), default);
        await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, default);
        return socket;
    }

    private static async Task<JsonObject> ReceiveAsync(ClientWebSocket socket)
    {
        using var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, waiting.Token);
            var message = JsonNode.Parse(buffer.AsSpan(0, received.Count))!.AsObject();
            if ((string?)message["type"] != "heartbeat") return message;
        }
    }

    private static async Task<SseEvent> NextChangeAsync(RawSse feed)
    {
        while (await feed.NextAsync() is { } next)
        {
            if (next.Event == "change") return next;
        }
        throw new InvalidOperationException("the stream ended before the next change");
    }
}

/// <summary>The authorisation hook: a registered <see cref="IFeedAuthorizer"/> decides who follows which channel.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedAuthorizationTests
{
    [Fact]
    public async Task A_channel_the_authoriser_refuses_gets_403_and_others_stream()
    {
        using var directory = new TempDirectory();
        await using var server = await RunningServer.StartWithPipelinesAsync(directory, FeedWorkload.Yaml(), 1,
            builder => builder.Services.AddSingleton<IFeedAuthorizer>(new OnlyPublicChannels()));

        using var refused = await server.Client.GetAsync("/feeds/lists?channel=list:secret");
        await using var allowed = await RawSse.OpenAsync(server.Client, "/feeds/lists?channel=list:public-news");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("urn:unbundled:problem:feed-forbidden", (string?)(await refused.Content.ReadFromJsonAsync<JsonObject>())!["type"]);
        Assert.Equal(HttpStatusCode.OK, allowed.Response.StatusCode);
        Assert.Equal("ready", (await allowed.ReadUntilAsync("ready"))[^1].Event);
    }

    private sealed class OnlyPublicChannels : IFeedAuthorizer
    {
        public ValueTask<bool> CanSubscribeAsync(FeedAuthorizationContext context, CancellationToken cancellationToken) =>
            ValueTask.FromResult(context.Channel.StartsWith("list:public-", StringComparison.Ordinal));
    }
}

/// <summary>A feed holds nothing derived, so a changed definition applies at once instead of leaving a stale view to rebuild.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedDefinitionChangeTests
{
    [Fact]
    public async Task Changing_a_feeds_projection_does_not_mark_it_stale()
    {
        using var directory = new TempDirectory();
        var log = $"--Unbundled:Log:Sqlite:Path={directory.File("shared-log.db")}";
        await using (var first = await RunningServer.StartWithPipelinesAsync(directory, FeedWorkload.Yaml(), 1, log))
        {
            await new FeedWorkload(first.Client).WriteAsync("a");
        }
        await using var second = await RunningServer.StartWithPipelinesAsync(directory, FeedWorkload.Yaml(title: "after.n"), 1, log);

        var status = await second.Client.GetFromJsonAsync<JsonObject>("/pipelines/lists");
        Assert.False((bool)status!["stale"]!);
        Assert.Equal(1, (long)status["head"]!);
    }
}

using Unbundled.Testing;
using Unbundled.Client;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Feeds;

/// <summary>Many subscribers over real connections: every change reaches each follower of its channel once, in order, through reconnects.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedFanOutTests
{
    private const int Channels = 50;
    private const int Subscribers = 1000;
    private const int WritesPerChannel = 6;

    [Fact]
    public async Task A_thousand_subscribers_across_fifty_channels_receive_every_change_once_and_in_order_while_some_reconnect()
    {
        using var directory = new TempDirectory();
        await using var server = await RunningServer.StartWithPipelinesAsync(directory, FeedWorkload.Yaml(), 1);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue }) { BaseAddress = server.Client.BaseAddress };
        var writes = new FeedWorkload(server.Client);
        var random = new Random(1123);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        // Subscribers start from position 0 while the writes go on, so each one catches up from the log
        // and hands over to live changes at a different point; one in five also drops its connection
        // after a random number of changes and resumes from the last position it saw.
        var followers = Enumerable.Range(0, Subscribers).Select(i =>
        {
            var channel = FeedWorkload.Channel($"fan{i % Channels}");
            var transport = i % 5 == 4 ? FeedTransport.WebSocket : FeedTransport.ServerSentEvents;
            var dropAfter = i % 5 == 1 ? random.Next(1, WritesPerChannel) : int.MaxValue;
            return Task.Run(() => FollowAsync(http, transport, channel, dropAfter, deadline.Token));
        }).ToList();
        var writers = Enumerable.Range(0, 5).Select(w => Task.Run(async () =>
        {
            for (var round = 0; round < WritesPerChannel; round++)
            {
                for (var list = w; list < Channels; list += 5) await writes.WriteAsync($"fan{list}");
            }
        })).ToList();
        await Task.WhenAll(writers);
        var received = await Task.WhenAll(followers);

        for (var i = 0; i < Subscribers; i++)
        {
            var channel = FeedWorkload.Channel($"fan{i % Channels}");
            Assert.Equal(writes.PositionsOf(channel), received[i]);
        }
    }

    private static async Task<List<long>> FollowAsync(HttpClient http, FeedTransport transport, string channel, int dropAfter, CancellationToken cancellationToken)
    {
        var positions = new List<long>();
        long? after = 0;
        while (positions.Count < WritesPerChannel)
        {
            var client = new FeedClient(http, transport);
            await foreach (var message in client.FollowAsync("lists", channel, after, cancellationToken))
            {
                if (!message.IsChange) continue;
                positions.Add(message.Position);
                after = message.Position;
                if (positions.Count == dropAfter || positions.Count == WritesPerChannel) break;
            }
        }
        return positions;
    }
}

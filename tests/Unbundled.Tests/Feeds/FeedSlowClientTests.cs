using Unbundled.Testing;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Client;
using Unbundled.Feeds;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Feeds;

/// <summary>Back-pressure: a subscriber that stops reading is cut off with a resumable position, and the others never wait for it.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedSlowClientTests
{
    private const int Changes = 400;

    [Fact]
    public async Task A_subscriber_that_stops_reading_is_cut_off_and_resumes_later_while_the_others_get_everything()
    {
        using var directory = new TempDirectory();
        await using var server = await RunningServer.StartWithPipelinesAsync(directory, FeedWorkload.Yaml(buffer: 16), 1);
        var writes = new FeedWorkload(server.Client);
        var created = await writes.WriteAsync("slow");
        var topic = server.Services.GetRequiredService<FeedHub>().Topic("lists");

        // The stalled reader takes the stream's first events, then reads nothing while about 25 MB of
        // changes go past, far more than the socket buffers and its 16-message queue can hold.
        await using var stalled = await RawSse.OpenAsync(server.Client, $"/feeds/lists?channel=list:slow&after={created}");
        await stalled.ReadUntilAsync("ready");
        using var following = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var fast = Task.Run(async () =>
        {
            var positions = new List<long>();
            await foreach (var message in new FeedClient(server.Client).FollowAsync("lists", "list:slow", created, following.Token))
            {
                if (message.IsChange) positions.Add(message.Position);
                if (positions.Count == Changes) break;
            }
            return positions;
        });
        var padding = new string('x', 64 * 1024);
        for (var i = 0; i < Changes; i++) await writes.WriteAsync("slow", $"{i} {padding}");
        var fastReceived = await fast;
        // The fast client's connection closes once HttpClient gave up draining it (2 s): then nobody follows.
        for (var wait = 0; wait < 100 && topic.Subscribers > 0; wait++) await Task.Delay(100);
        var followersLeft = topic.Subscribers;

        // What the stalled reader finally reads is a prefix of the changes, ended by the server.
        var prefix = new List<long>();
        var cutOff = false;
        try
        {
            while (await stalled.NextAsync() is { } next)
            {
                if (next.Event == "change") prefix.Add(long.Parse(next.Id!));
                cutOff |= next.Event == "cut-off";
            }
        }
        catch (IOException)
        {
            // The server aborted the connection when even the cut-off notice could not be delivered.
            cutOff = true;
        }
        await using var resumed = await RawSse.OpenAsync(server.Client, "/feeds/lists?channel=list:slow", lastEventId: prefix.LastOrDefault(created).ToString());
        var rest = (await resumed.ReadUntilAsync("ready")).Where(e => e.Event == "change").Select(e => long.Parse(e.Id!));

        var expected = writes.PositionsAfter("list:slow", created);
        Assert.Equal(expected, fastReceived);
        Assert.Equal(0, followersLeft);
        Assert.True(cutOff || prefix.Count < expected.Count, "the stalled subscriber was not cut off");
        Assert.True(prefix.Count < expected.Count, $"the stalled subscriber got all {prefix.Count} changes; nothing was held back");
        Assert.Equal(expected, [.. prefix, .. rest]);
    }
}

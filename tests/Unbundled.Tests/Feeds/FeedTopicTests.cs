using System.Text.Json.Nodes;
using Unbundled.Feeds;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Feeds;

/// <summary>The live fan-out of one feed in a process: each change once per subscriber of its channel, and a bounded queue per subscriber.</summary>
public sealed class FeedTopicTests
{
    [Fact]
    public void A_change_goes_to_the_subscribers_of_its_channel_only_and_a_replayed_batch_goes_nowhere()
    {
        using var topic = new FeedTopic("lists");
        topic.Start(10, TimeSpan.Zero);
        var (a1, a2, b) = (new FeedSubscriber("list:a", 10), new FeedSubscriber("list:a", 10), new FeedSubscriber("list:b", 10));
        var from = new[] { a1, a2, b }.Select(topic.Subscribe).ToList();

        var batch = new[] { Change("list:a", 11), Change("list:c", 12), Change("list:a", 13) };
        topic.Publish(batch, 13);
        topic.Publish(batch, 13);

        Assert.All(from, position => Assert.Equal(10, position));
        Assert.Equal([11, 13], Drain(a1));
        Assert.Equal([11, 13], Drain(a2));
        Assert.Empty(Drain(b));
        Assert.Equal(13, topic.Position);
    }

    [Fact]
    public void A_subscriber_whose_queue_is_full_is_cut_off_and_the_others_are_not()
    {
        using var topic = new FeedTopic("lists");
        topic.Start(0, TimeSpan.Zero);
        var (slow, fast) = (new FeedSubscriber("list:a", 2), new FeedSubscriber("list:a", 100));
        topic.Subscribe(slow);
        topic.Subscribe(fast);

        for (var position = 1; position <= 5; position++) topic.Publish([Change("list:a", position)], position);

        Assert.True(slow.IsCutOff);
        Assert.True(slow.CutOff.IsCancellationRequested);
        Assert.False(fast.IsCutOff);
        Assert.Equal([1, 2], Drain(slow));
        Assert.Equal([1, 2, 3, 4, 5], Drain(fast));
    }

    [Fact]
    public void Subscribers_and_cut_offs_are_measured_per_pipeline_on_the_feeds_meter()
    {
        using var hub = new FeedHub();
        var measured = new Dictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener
        {
            InstrumentPublished = (instrument, l) => { if (instrument.Meter.Name == FeedHub.MeterName) l.EnableMeasurementEvents(instrument); },
        };
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => measured[$"{instrument.Name} {tags[0].Value}"] = value);
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => measured[$"{instrument.Name} {tags[0].Value}"] = value);
        listener.Start();
        var topic = hub.Topic("lists");
        topic.Start(0, TimeSpan.Zero);
        var (slow, fast) = (new FeedSubscriber("list:a", 1), new FeedSubscriber("list:a", 100));
        topic.Subscribe(slow);
        topic.Subscribe(fast);

        for (var position = 1; position <= 3; position++) topic.Publish([Change("list:a", position)], position);
        listener.RecordObservableInstruments();

        Assert.Equal(2, measured["unbundled.feed.subscribers lists"]);
        Assert.Equal(1, measured["unbundled.feed.cut_off lists"]);
    }

    [Fact]
    public void Unsubscribing_the_last_follower_forgets_the_channel()
    {
        using var topic = new FeedTopic("lists");
        topic.Start(0, TimeSpan.Zero);
        var subscriber = new FeedSubscriber("list:a", 10);
        topic.Subscribe(subscriber);
        topic.Unsubscribe(subscriber);

        topic.Publish([Change("list:a", 1)], 1);

        Assert.Equal(0, topic.Subscribers);
        Assert.Empty(Drain(subscriber));
    }

    private static FeedMessage Change(string channel, long position) =>
        FeedMessage.Change(channel, SinkDocument.Upsert(channel[5..], position, position, new JsonObject { ["n"] = position }), null);

    private static List<long> Drain(FeedSubscriber subscriber)
    {
        var positions = new List<long>();
        while (subscriber.Messages.TryRead(out var message)) positions.Add(message.Position);
        return positions;
    }
}

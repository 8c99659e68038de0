using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>The dead-letter store's bound per pipeline: the oldest letters make room, or the pipeline waits for room.</summary>
public sealed class DeadLetterBoundTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private Task<PipelineHarness> StartAsync(RecordingView view, DeadLettersFull whenFull, long max) =>
        PipelineHarness.StartAsync(_directory.File("log.db"), [Pipeline("lists", view, new NamedProjection(PoisonTitles.ProjectionName))],
            builder => builder.Services.Configure<DeadLetterOptions>(options => (options.MaxPerPipeline, options.WhenFull) = (max, whenFull)), new PoisonTitles());

    [Fact]
    public async Task A_full_store_that_drops_the_oldest_keeps_the_newest_letters()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(view, DeadLettersFull.DropOldest, max: 2);
        foreach (var list in new[] { "a", "b", "c" }) await harness.FlushAsync(list, NewList("poison"));
        await harness.FlushAsync("fine", NewList("fine"));
        await harness.CatchUpAsync("lists");

        Assert.Equal(["b", "c"], (await harness.State.ReadDeadLettersAsync("lists", 0, 10, default)).Select(l => l.Key));
        Assert.NotNull(view.Get("fine"));
    }

    [Fact]
    public async Task A_full_store_that_stops_holds_the_pipeline_until_there_is_room_and_then_goes_on()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(view, DeadLettersFull.Stop, max: 1);
        Assert.True(harness.Monitor.TryGet("lists", out var progress));
        await harness.FlushAsync("a", NewList("poison"));
        await harness.CatchUpAsync("lists");
        await harness.FlushAsync("b", NewList("poison"));
        await harness.FlushAsync("fine", NewList("fine"));

        // Held at b's batch, with the reason in its status, rather than stopped for good.
        for (var i = 0; progress!.LastError?.Contains("dead-letter store", StringComparison.Ordinal) != true; i++)
        {
            Assert.True(i < 100, $"the pipeline did not report its full store ({progress.State}: {progress.LastError})");
            await Task.Delay(100);
        }
        Assert.NotEqual(PipelineState.Faulted, progress.State);
        Assert.Null(view.Get("fine"));

        var first = Assert.Single(await harness.State.ReadDeadLettersAsync("lists", 0, 10, default));
        await harness.State.RemoveDeadLetterAsync("lists", first.Id, default);
        await harness.CatchUpAsync("lists");

        Assert.Equal(["b"], (await harness.State.ReadDeadLettersAsync("lists", 0, 10, default)).Select(l => l.Key));
        Assert.NotNull(view.Get("fine"));
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Lists by key, refusing those titled "poison" as a broken projection would.</summary>
    private sealed class PoisonTitles : IProjection
    {
        public const string ProjectionName = "poison-titles";

        public string Name => ProjectionName;

        public IEnumerable<SinkDocument> Project(ChangeEvent change)
        {
            if ((string?)change.After?["title"] == "poison") throw new InvalidOperationException("a poison title");
            yield return change.After is null
                ? SinkDocument.Delete(change.Key, change.Source.Version, change.Source.Position)
                : SinkDocument.Upsert(change.Key, change.Source.Version, change.Source.Position, new JsonObject { ["title"] = change.After["title"]?.DeepClone() });
        }
    }
}

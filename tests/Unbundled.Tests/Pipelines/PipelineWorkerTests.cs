using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Filtering;
using Unbundled.Pipelines.Observability;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>Hosted workers on a real embedded log: views, offsets, filters, dead letters, retries and restarts.</summary>
public sealed class PipelineWorkerTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private string LogFile => _directory.File("log.db");

    [Fact]
    public async Task Workers_derive_each_view_from_the_log_and_keep_their_own_offsets()
    {
        var items = new RecordingView();
        var lists = new RecordingView();
        var select = new SelectProjection("list:{key}", [new SelectField("title", new PathValue("after.title")), new SelectField("version", new PathValue("source.version"))]);
        await using var harness = await StartAsync(LogFile, [Pipeline("items", items), Pipeline("lists", lists, select, keepsOffset: true)]);

        await harness.FlushAsync("groceries", NewList("Groceries"), AddTodo("a", "Milk"), AddTodo("b", "Eggs"));
        await harness.FlushAsync("work", NewList("Work"), AddTodo("c", "Report"));
        await harness.FlushAsync("groceries", Set("/todos/0/done", true), Set("/title", "Shop"));
        await harness.CatchUpAsync("items", "lists");

        Assert.Equal(["groceries:a", "groceries:b", "work:c"], items.Snapshot().Keys.Order());
        Assert.True((bool)items.Get("groceries:a")!["done"]!);
        Assert.Equal("Shop", (string?)items.Get("groceries:b")!["listTitle"]);
        Assert.Equal("""{"title":"Shop","version":5}""", lists.Snapshot()["list:groceries"]);
        Assert.Equal(7, await harness.State.LoadOffsetAsync("items", default));
        Assert.Equal(0, await harness.State.LoadOffsetAsync("lists", default));
        Assert.Equal(7, lists.Offset);
    }

    [Fact]
    public async Task A_filter_keeps_matching_models_removes_those_that_stop_matching_and_still_moves_the_offset()
    {
        var open = new RecordingView();
        var where = FilterCompiler.Compile("after.title != \"archived\"");
        await using var harness = await StartAsync(LogFile, [Pipeline("open-items", open, where: where)]);

        await harness.FlushAsync("a", NewList("Groceries"), AddTodo("1", "Milk"));
        await harness.FlushAsync("b", NewList("archived"), AddTodo("2", "Old"));
        await harness.CatchUpAsync("open-items");
        Assert.Equal(["a:1"], open.Snapshot().Keys);

        await harness.FlushAsync("a", Set("/title", "archived"));
        await harness.CatchUpAsync("open-items");

        Assert.Empty(open.Snapshot());
        Assert.Equal(5, await harness.State.LoadOffsetAsync("open-items", default));
    }

    [Fact]
    public async Task Deleting_a_model_deletes_every_document_derived_from_it()
    {
        var items = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("items", items)]);

        await harness.FlushAsync("a", NewList("A"), AddTodo("1", "x"), AddTodo("2", "y"));
        await harness.FlushAsync("b", NewList("B"), AddTodo("3", "z"));
        await harness.FlushAsync("a", Delete("/todos/0"));
        await harness.CatchUpAsync("items");
        Assert.Equal(["a:2", "b:3"], items.Snapshot().Keys.Order());

        await harness.FlushAsync("a", Delete(""));
        await harness.CatchUpAsync("items");

        Assert.Equal(["b:3"], items.Snapshot().Keys);
    }

    [Fact]
    public async Task A_poison_event_goes_to_the_dead_letter_store_with_its_reason_and_the_rest_go_on()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("picky", view, new NamedProjection("picky"))], new PickyProjection());

        await harness.FlushAsync("a", NewList("fine"));
        await harness.FlushAsync("b", NewList("poison"));
        await harness.FlushAsync("c", NewList("also fine"));
        await harness.CatchUpAsync("picky");

        Assert.Equal(["a", "c"], view.Snapshot().Keys.Order());
        var letter = Assert.Single(await harness.State.ReadDeadLettersAsync("picky", 0, 10, default));
        Assert.Equal(2, letter.Position);
        Assert.Equal("b", letter.Key);
        Assert.Equal("InvalidOperationException: poison is not allowed", letter.Reason);
        Assert.Equal("poison", (string?)JsonNode.Parse(letter.Event)!["after"]!["title"]);
        Assert.Equal("c", (string?)JsonNode.Parse(letter.Event)!["op"]);
    }

    [Fact]
    public async Task A_stop_policy_halts_only_its_pipeline_just_before_the_poison_event()
    {
        var stopping = new RecordingView();
        var other = new RecordingView();
        await using var harness = await StartAsync(LogFile,
            [Pipeline("stopping", stopping, new NamedProjection("picky"), onError: ErrorPolicy.Stop), Pipeline("other", other)],
            new PickyProjection());

        await harness.FlushAsync("a", NewList("fine"));
        await harness.FlushAsync("b", NewList("poison"));
        await harness.FlushAsync("c", NewList("after"), AddTodo("1", "x"));
        await harness.CatchUpAsync("other");
        Assert.True(harness.Monitor.TryGet("stopping", out var progress));
        await WaitUntilAsync(() => progress.State == PipelineState.Faulted);

        Assert.Equal(["a"], stopping.Snapshot().Keys);
        Assert.Equal(1, await harness.State.LoadOffsetAsync("stopping", default));
        Assert.Equal(1, await harness.State.CountDeadLettersAsync("stopping", default));
        Assert.Equal(["c:1"], other.Snapshot().Keys);
    }

    [Fact]
    public async Task Documents_a_sink_refuses_go_to_the_dead_letter_store_and_the_offset_moves_on()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("picky", view, new NamedProjection("picky"))], new PickyProjection());

        await harness.FlushAsync("a", NewList("fine"));
        await harness.FlushAsync("b", NewList("reject me"));
        await harness.CatchUpAsync("picky");

        Assert.Equal(["a"], view.Snapshot().Keys);
        Assert.Equal(2, await harness.State.LoadOffsetAsync("picky", default));
        var letter = Assert.Single(await harness.State.ReadDeadLettersAsync("picky", 0, 10, default));
        Assert.Equal(("b", "the document asks to be rejected"), (letter.Key, letter.Reason));
        Assert.Equal("reject me", (string?)JsonNode.Parse(letter.Event)!["after"]!["title"]);
    }

    [Fact]
    public async Task A_failing_sink_is_retried_until_it_recovers_while_another_pipeline_keeps_up()
    {
        var flaky = new RecordingView();
        var steady = new RecordingView();
        flaky.FailNext(4);
        await using var harness = await StartAsync(LogFile, [Pipeline("flaky", flaky), Pipeline("steady", steady)]);

        await harness.FlushAsync("a", NewList("A"), AddTodo("1", "x"));
        await harness.CatchUpAsync("steady");
        Assert.Equal(["a:1"], steady.Snapshot().Keys);
        await harness.CatchUpAsync("flaky");

        Assert.Equal(["a:1"], flaky.Snapshot().Keys);
        Assert.True(harness.Monitor.TryGet("flaky", out var progress));
        Assert.True(progress.Errors >= 4);
        Assert.Contains("the recording view is down", progress.LastError);
    }

    [Fact]
    public async Task A_restarted_host_resumes_from_its_offset_and_ends_equal_to_a_from_scratch_run()
    {
        var view = new RecordingView();
        await using (var first = await StartAsync(LogFile, [Pipeline("items", view, batchSize: 7)]))
        {
            for (var i = 0; i < 20; i++) await first.FlushAsync($"l{i % 4}", i < 4 ? NewList($"L{i}") : AddTodo($"t{i}", $"todo {i}"));
            await first.CatchUpAsync("items");
        }
        long stored;
        await using (var idle = await StartAsync(LogFile, []))
            stored = await idle.State.LoadOffsetAsync("items", default);
        var batchesBefore = view.BatchStarts.Count;

        await using (var second = await StartAsync(LogFile, [Pipeline("items", view, batchSize: 7)]))
        {
            for (var i = 20; i < 40; i++) await second.FlushAsync($"l{i % 4}", i % 5 == 0 ? Delete("/todos/0") : AddTodo($"t{i}", $"todo {i}"));
            await second.CatchUpAsync("items");
        }

        // A worker that restarted from zero would write positions at or below the stored offset again.
        Assert.Equal(20, stored);
        var restarted = view.BatchStarts.Skip(batchesBefore).ToList();
        Assert.NotEmpty(restarted);
        Assert.All(restarted, start => Assert.True(start > stored, $"the second host wrote position {start}, at or below the stored offset {stored}"));

        var scratch = new RecordingView();
        await using var replay = await StartAsync(LogFile, [Pipeline("from-scratch", scratch)]);
        await replay.CatchUpAsync("from-scratch");
        Assert.Equal(scratch.Snapshot(), view.Snapshot());
        Assert.NotEmpty(view.Snapshot());
    }

    [Fact]
    public async Task The_dead_letter_store_is_read_in_pages()
    {
        await using var harness = await StartAsync(LogFile, []);
        for (var i = 0; i < 10_000; i++)
            await harness.State.AddDeadLetterAsync(new Unbundled.Pipelines.State.DeadLetter(0, "p", i + 1, $"k{i}", "{}", "bad", DateTimeOffset.UtcNow), default);

        var pages = 0;
        var read = 0;
        for (var after = 0L; ; pages++)
        {
            var page = await harness.State.ReadDeadLettersAsync("p", after, 100, default);
            if (page.Count == 0) break;
            Assert.True(page.Count <= 100);
            read += page.Count;
            after = page[^1].Id;
        }

        Assert.Equal(10_000, read);
        Assert.Equal(100, pages);
        Assert.Equal(10_000, await harness.State.CountDeadLettersAsync("p", default));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 150 && !condition(); i++) await Task.Delay(100);
        Assert.True(condition());
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Projects a list to one document, and throws for a list titled "poison".</summary>
    private sealed class PickyProjection : IProjection
    {
        public string Name => "picky";

        public IEnumerable<SinkDocument> Project(ChangeEvent change)
        {
            if ((string?)change.After?["title"] == "poison") throw new InvalidOperationException("poison is not allowed");
            if (change.Op == ChangeOp.Delete) return [SinkDocument.Delete(change.Key, change.Source.Version, change.Source.Position)];
            var document = new JsonObject { ["title"] = change.After?["title"]?.DeepClone() };
            if ((string?)change.After?["title"] == "reject me") document["reject"] = true;
            return [SinkDocument.Upsert(change.Key, change.Source.Version, change.Source.Position, document)];
        }
    }
}

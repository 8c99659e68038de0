using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Filtering;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>A change costs what it changed: the engine writes only the documents that differ, and one write per key per batch.</summary>
public sealed class ChangeCostTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private string LogFile => _directory.File("log.db");

    private static Command[] ListOf(int todos) => [NewList("Groceries"), .. Enumerable.Range(0, todos).Select(i => AddTodo($"t{i}", $"item {i}"))];

    /// <summary>Creates list "l" with <paramref name="todos"/> todos, then flushes <paramref name="change"/>; answers how many writes the change cost the sink.</summary>
    private static async Task<int> WritesOfAsync(PipelineHarness harness, RecordingView view, int todos, Command change)
    {
        await harness.FlushAsync("l", ListOf(todos));
        await harness.CatchUpAsync("items");
        var before = view.DocumentsWritten;
        await harness.FlushAsync("l", change);
        await harness.CatchUpAsync("items");
        return view.DocumentsWritten - before;
    }

    [Fact]
    public async Task Ticking_one_todo_of_fifty_writes_one_document()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("items", view)]);
        var writes = await WritesOfAsync(harness, view, 50, Set("/todos/[id=t7]/done", true));

        Assert.Equal(1, writes);
        Assert.True((bool)view.Get("l:t7")!["done"]!);
        Assert.Equal(50, view.Snapshot().Count);
    }

    [Fact]
    public async Task Renaming_the_list_rewrites_every_todo_that_carries_its_title()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("items", view)]);
        var writes = await WritesOfAsync(harness, view, 20, Set("/title", "Shop"));

        Assert.Equal(20, writes);
        Assert.All(view.Snapshot().Values, document => Assert.Contains("\"listTitle\":\"Shop\"", document));
    }

    [Fact]
    public async Task A_removed_todo_is_deleted_and_nothing_else_is_written()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("items", view)]);
        var writes = await WritesOfAsync(harness, view, 10, Delete("/todos/[id=t3]"));

        Assert.Equal(1, writes);
        Assert.Null(view.Get("l:t3"));
        Assert.Equal(9, view.Snapshot().Count);
    }

    [Fact]
    public async Task A_model_the_filter_admits_only_now_is_written_whole_though_its_documents_did_not_change()
    {
        var view = new RecordingView();
        await using var harness = await StartAsync(LogFile, [Pipeline("open", view, where: FilterCompiler.Compile("after.title != \"archived\""))]);
        await harness.FlushAsync("l", NewList("archived"), AddTodo("a", "Milk"), AddTodo("b", "Eggs"));
        await harness.CatchUpAsync("open");
        Assert.Empty(view.Snapshot());

        // The todos' documents carry the list's title, so make the change one they do not show.
        await harness.FlushAsync("l", Set("/title", "Groceries"));
        await harness.CatchUpAsync("open");

        Assert.Equal(["l:a", "l:b"], view.Snapshot().Keys.Order());
    }

    [Fact]
    public async Task A_filter_on_event_metadata_never_lets_the_comparison_skip_a_document_the_view_lacks()
    {
        // Version 1 is filtered out, version 2 admitted: comparing with version 1's state would find the title unchanged.
        var view = new RecordingView();
        var select = new SelectProjection("{key}", [new SelectField("title", new PathValue("after.title"))]);
        await using var harness = await StartAsync(LogFile, [Pipeline("later", view, select, where: FilterCompiler.Compile("source.version > 1"))]);
        await harness.FlushAsync("l", NewList("Groceries"));
        await harness.FlushAsync("l", AddTodo("a", "Milk"));
        await harness.CatchUpAsync("later");

        Assert.Equal("Groceries", (string?)view.Get("l")?["title"]);
    }

    [Fact]
    public async Task A_sink_that_wants_every_document_gets_them_all_as_a_cache_with_a_ttl_needs()
    {
        var view = new RecordingView();
        var definition = Pipeline("items", view);
        definition = definition with { Sink = definition.Sink with { Options = new RecordingSinkOptions { View = view, WantsEveryDocument = true } } };
        await using var harness = await StartAsync(LogFile, [definition]);
        var writes = await WritesOfAsync(harness, view, 10, Set("/todos/[id=t1]/done", true));

        Assert.Equal(10, writes);
    }

    [Fact]
    public async Task A_projection_that_opts_out_has_every_document_written()
    {
        var view = new RecordingView();
        var projection = new EveryDocument();
        await using var harness = await StartAsync(LogFile, [Pipeline("items", view, new NamedProjection(projection.Name))], projection);
        var writes = await WritesOfAsync(harness, view, 10, Set("/todos/[id=t1]/done", true));

        Assert.Equal(10, writes);
    }

    [Fact]
    public async Task Several_writes_of_one_key_in_a_batch_reach_the_sink_as_the_one_it_would_end_with()
    {
        // The log is written first, so the worker meets all of it in one batch.
        await using (var writer = await StartAsync(LogFile, []))
        {
            await writer.FlushAsync("l", NewList("v1"));
            for (var i = 2; i <= 10; i++) await writer.FlushAsync("l", Set("/title", $"v{i}"));
            // Two models keyed alike: the sink must end with the higher version, as its guard would choose.
            await writer.FlushAsync("x", NewList("shared"), Set("/title", "shared"), Set("/title", "shared"));
            await writer.FlushAsync("y", NewList("shared"));
        }
        var byList = new RecordingView();
        var byTitle = new RecordingView();
        await using var harness = await StartAsync(LogFile, [
            Pipeline("lists", byList, new SelectProjection("{key}", [new SelectField("title", new PathValue("after.title"))])),
            Pipeline("titles", byTitle, new SelectProjection("{after.title}", [new SelectField("list", new PathValue("key"))])),
        ]);
        await harness.CatchUpAsync("lists", "titles");

        Assert.Equal(3, byList.DocumentsWritten);
        Assert.Equal("v10", (string?)byList.Get("l")!["title"]);
        Assert.Equal("x", (string?)byTitle.Get("shared")!["list"]);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>A projection of every todo that asks the engine to write all of them each time.</summary>
    private sealed class EveryDocument : IProjection
    {
        public string Name => "every-document";

        public bool WritesOnlyChanges => false;

        public IEnumerable<SinkDocument> Project(ChangeEvent change) =>
            (change.After?["todos"] as JsonArray ?? []).OfType<JsonObject>().Select(todo =>
                SinkDocument.Upsert($"{change.Key}:{todo["id"]}", change.Source.Version, change.Source.Position, (JsonObject)todo.DeepClone()));
    }
}

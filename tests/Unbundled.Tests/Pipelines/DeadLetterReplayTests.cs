using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Joins;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.Sources.CommandLog;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>Dead letters replayed through the pipeline's current projection, into its live view, version-guarded.</summary>
public sealed class DeadLetterReplayTests : IDisposable
{
    private readonly TempDirectory _directory = new();
    private string LogFile => _directory.File("log.db");

    private static async Task<IReadOnlyList<DeadLetter>> LettersAsync(PipelineHarness harness) => await harness.State.ReadDeadLettersAsync("lists", 0, 100, default);

    [Fact]
    public async Task A_letter_replayed_after_the_fix_reaches_the_view_and_leaves_the_store()
    {
        var view = new RecordingView();
        var projection = new Fickle();
        await using var harness = await StartAsync(LogFile, [Pipeline("lists", view, new NamedProjection(projection.Name))], projection);
        await harness.FlushAsync("bad", NewList("poison"));
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("lists", 1));
        Assert.Contains("poison", letter.Reason);

        projection.Fixed = true;
        var outcome = await harness.Replays.ReplayAsync("lists", new DeadLetterSelection([letter.Id]), default);

        Assert.Equal([new DeadLetterReplayed(letter.Id, true, null)], outcome);
        Assert.Equal("poison", (string?)view.Get("bad")!["title"]);
        Assert.Empty(await LettersAsync(harness));
    }

    [Fact]
    public async Task A_letter_that_fails_again_stays_with_its_new_reason()
    {
        var view = new RecordingView();
        var projection = new Fickle();
        await using var harness = await StartAsync(LogFile, [Pipeline("lists", view, new NamedProjection(projection.Name))], projection);
        await harness.FlushAsync("bad", NewList("poison"));
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("lists", 1));

        projection.Message = "still broken";
        var outcome = Assert.Single((await harness.Replays.ReplayAsync("lists", new DeadLetterSelection(), default))!);

        Assert.False(outcome.Written);
        Assert.Contains("still broken", outcome.Reason);
        var kept = Assert.Single(await LettersAsync(harness));
        Assert.Equal((letter.Id, outcome.Reason), (kept.Id, kept.Reason));
        Assert.Null(view.Get("bad"));
    }

    [Fact]
    public async Task A_letter_older_than_the_view_changes_nothing()
    {
        var view = new RecordingView();
        var projection = new Fickle();
        await using var harness = await StartAsync(LogFile, [Pipeline("lists", view, new NamedProjection(projection.Name))], projection);
        await harness.FlushAsync("l", NewList("poison"));
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("lists", 1));
        await harness.FlushAsync("l", Set("/title", "fine"));
        await harness.CatchUpAsync("lists");
        Assert.Equal("fine", (string?)view.Get("l")!["title"]);

        projection.Fixed = true;
        var outcome = Assert.Single((await harness.Replays.ReplayAsync("lists", new DeadLetterSelection([letter.Id]), default))!);

        Assert.True(outcome.Written);
        Assert.Equal("fine", (string?)view.Get("l")!["title"]);
    }

    [Fact]
    public async Task A_document_the_sink_refused_is_replayed_under_its_own_key_from_the_models_event()
    {
        var view = new RecordingView();
        var projection = new Fickle { Refuse = true };
        await using var harness = await StartAsync(LogFile, [Pipeline("lists", view, new NamedProjection(projection.Name))], projection);
        await harness.FlushAsync("m", NewList("groceries"));
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("lists", 1));
        Assert.Equal("doc-m", letter.Key);

        projection.Refuse = false;
        var outcome = Assert.Single((await harness.Replays.ReplayAsync("lists", new DeadLetterSelection([letter.Id]), default))!);

        Assert.True(outcome.Written);
        Assert.Equal(["doc-m"], view.Snapshot().Keys);
    }

    [Fact]
    public async Task A_joined_document_the_sink_refused_is_written_by_its_replay_with_the_row_it_embeds()
    {
        var view = new RecordingView { Refuses = document => document.Key == "l:t1" };
        var pipeline = Pipeline("lists", view) with
        {
            Source = new SourceDefinition("todos-and-users", new CommandLogSourceFactory([]), new CommandLogSourceOptions { Models = ["todo-list", "user"] }, new SourceSpan("test", 1, 1)),
            Join = new JoinDefinition("user", "{after.createdBy}", "author"),
        };
        // One batch, ending with another list's change and a row: a joined document carries the batch's offset, whose
        // record is neither its own change nor one the replay may project in its place.
        await using (var writer = await StartAsync(LogFile, []))
        {
            await writer.FlushAsAsync("ann", new ModelKey("user", "ann"), NewUser("Ann"));
            await writer.FlushAsAsync("ann", new ModelKey("todo-list", "l"), NewList("l"), AddTodo("t1", "first"), AddTodo("t2", "second"));
            await writer.FlushAsAsync("bob", new ModelKey("todo-list", "m"), NewList("m"));
        }
        await using var harness = await StartAsync(LogFile, [pipeline]);
        var letter = Assert.Single(await harness.WaitForDeadLettersAsync("lists", 1));
        Assert.Equal("l:t1", letter.Key);
        Assert.Contains("\"first\"", letter.Event);
        Assert.Equal("Ann", (string?)view.Get("l:t2")!["author"]!["name"]);

        // The sink takes it now: the replay sends it again from the join store, as the view would hold it.
        view.Refuses = null;
        var outcome = Assert.Single((await harness.Replays.ReplayAsync("lists", new DeadLetterSelection([letter.Id]), default))!);

        Assert.True(outcome.Written, outcome.Reason);
        Assert.Equal("first", (string?)view.Get("l:t1")!["title"]);
        Assert.Equal("Ann", (string?)view.Get("l:t1")!["author"]!["name"]);
        Assert.Empty(await LettersAsync(harness));
    }

    private static Command NewUser(string name) => new() { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["name"] = name } };

    public void Dispose() => _directory.Dispose();

    /// <summary>A projection of lists that refuses those titled "poison" until it is fixed.</summary>
    private sealed class Fickle : IProjection
    {
        public volatile bool Fixed;

        /// <summary>Asks the sink to refuse every document, as a mapping error would.</summary>
        public volatile bool Refuse;

        public string Message { get; set; } = "a poison title";

        public string Name => "fickle";

        public IEnumerable<SinkDocument> Project(ChangeEvent change)
        {
            if (!Fixed && (string?)change.After?["title"] == "poison") throw new InvalidOperationException(Message);
            var key = Refuse || change.After?["title"]?.ToString() == "groceries" ? $"doc-{change.Key}" : change.Key;
            var document = new JsonObject { ["title"] = change.After?["title"]?.DeepClone() };
            if (Refuse) document["reject"] = true;
            yield return change.After is null
                ? SinkDocument.Delete(key, change.Source.Version, change.Source.Position)
                : SinkDocument.Upsert(key, change.Source.Version, change.Source.Position, document);
        }
    }
}

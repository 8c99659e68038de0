using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Model;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.Sources.CommandLog;
using Unbundled.TodoApp.Projections;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// The command log's reader catches the item a command wrote, and copies a model's states as they are made or
/// only for whoever reads them; a projection deriving per item (<c>ItemsField</c>) is projected over that item alone. Random
/// commands of every shape, by key and by index, must derive exactly what projecting the whole model derives,
/// and every state read later, in any order, must be the model as it was; the todos' ids stay unique, as the
/// projection's promise asks.
/// </summary>
public sealed class PerItemProjectionTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    private static List<string> Written(IEnumerable<SinkDocument> documents) =>
        documents.Select(d => $"{d.Key} {(d.IsDelete ? "delete" : "upsert")} v{d.Version}@{d.Position} {d.Document?.ToJsonString()}").Order(StringComparer.Ordinal).ToList();

    private static JsonObject Todo(Random random, string id) => new()
    {
        ["id"] = id,
        ["title"] = $"todo {random.Next(4)}",
        ["done"] = random.Next(2) == 0,
    };

    /// <summary>A command of a random shape against <paramref name="list"/>, which may not fit it (the caller skips those).</summary>
    private static Command RandomCommand(Random random, JsonObject list)
    {
        var count = ((JsonArray)list["todos"]!).Count;
        string Key() => $"[id=t{random.Next(count + 2)}]";
        string Index() => random.Next(count + 1).ToString();
        string Item() => random.Next(2) == 0 ? Key() : Index();
        return random.Next(12) switch
        {
            // Renaming an item's key, sometimes to one another item has: the reader's index of items by key must follow.
            11 => new Command { Op = CommandOp.Update, Path = $"/todos/{Item()}/id", Value = $"t{random.Next(count + 2)}" },
            0 => new Command { Op = CommandOp.Update, Path = $"/todos/{Item()}/done", Value = random.Next(2) == 0 },
            1 => new Command { Op = CommandOp.Update, Path = $"/todos/{Item()}/title", Value = $"todo {random.Next(4)}" },
            2 => new Command { Op = CommandOp.Delete, Path = $"/todos/{Item()}" },
            3 => new Command { Op = CommandOp.Create, Path = "/todos/-", Value = Todo(random, $"t{random.Next(count + 2)}") },
            4 => new Command { Op = CommandOp.Create, Path = $"/todos/{Item()}", Value = Todo(random, $"n{random.Next(100)}") },
            // Replacing an item whole, sometimes with one of another id.
            5 => new Command { Op = CommandOp.Update, Path = $"/todos/{Item()}", Value = Todo(random, $"t{random.Next(count + 2)}") },
            6 => new Command { Op = CommandOp.Update, Path = "/title", Value = $"list {random.Next(3)}" },
            7 => new Command { Op = CommandOp.Move, Path = $"/todos/{Index()}", From = $"/todos/{Index()}" },
            8 => new Command { Op = CommandOp.Create, Path = $"/todos/{Item()}/note", Value = "n" },
            9 => new Command { Op = CommandOp.Delete, Path = $"/todos/{Item()}/title" },
            _ => new Command { Op = CommandOp.Update, Path = "/todos", Value = new JsonArray(Todo(random, "t0")) },
        };
    }

    /// <summary>
    /// A random command <paramref name="state"/> accepts (a list created, when there is none yet), with the model after it: the log
    /// holds only what the master applied, so a key that names no item, or two, never reaches the reader.
    /// </summary>
    private static (Command Command, JsonNode? Next) Accepted(Random random, JsonNode? state)
    {
        while (true)
        {
            var command = state is null
                ? new Command { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["title"] = "list", ["todos"] = new JsonArray([.. Enumerable.Range(0, random.Next(8)).Select(i => (JsonNode)Todo(random, $"t{i}"))]) } }
                : RandomCommand(random, state.AsObject());
            try
            {
                return (command, ModelDocument.Apply(state?.DeepClone(), command, DocumentPath.Parse(command.Path)));
            }
            catch (CommandFailedException)
            {
            }
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Random_changes_read_from_the_log_derive_per_item_what_the_whole_model_derives_and_keep_every_state(bool copyStatesAsMade)
    {
        using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        await log.InitializeAsync(default);
        using var reader = new ChangeEventReader(log, "test", itemsField: "todos", copyStatesAsMade: copyStatesAsMade);
        var seen = new TodoCounting();
        var transform = new PipelineTransform(Pipeline("items", new RecordingView()), seen);
        var random = new Random(20261205);
        var (position, narrowed) = (0L, 0);
        for (var run = 0; run < 40; run++)
        {
            var model = new ModelKey("todo-list", $"l{run}");
            JsonNode? state = null;
            var events = new List<(ChangeEvent Change, string? Before, string? After)>();
            // Past the reader's history length, so that states come from a fresh copy too.
            while (events.Count < 100)
            {
                var (command, next) = Accepted(random, state);
                // The projection's promise: no two todos derive a document of the same key (the demo's model refuses a todo whose id is taken).
                var ids = (next?["todos"] as JsonArray ?? []).Select(t => (string?)t?["id"]).ToList();
                if (ids.Distinct().Count() != ids.Count) continue;
                var change = await reader.ReadAsync(new LogEntry(++position, model, events.Count + 1, command, DateTimeOffset.UnixEpoch), default);
                events.Add((change, state?.ToJsonString(), next?.ToJsonString()));
                state = next;
            }
            // States read in any order, before anything else reads them, are the model as it was.
            foreach (var (change, before, after) in events.OrderBy(_ => random.Next()))
            {
                Assert.Equal(after, change.After?.ToJsonString());
                Assert.Equal(before, change.Before?.ToJsonString());
            }
            foreach (var (change, _, _) in events.Where(e => e.Change.Op == ChangeOp.Update))
            {
                seen.Todos = 0;
                var perItem = Written(transform.Project(change));
                if (change.Item is not null)
                {
                    narrowed++;
                    // The projection saw at most the one todo, after and before.
                    Assert.True(seen.Todos <= 2);
                }
                Assert.True(perItem.SequenceEqual(Written(transform.Project(change with { Item = null }))), $"{change.Key} v{change.Source.Version}");
            }
        }
        Assert.True(narrowed > 1000, $"only {narrowed} of the changes were narrowed");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Items_named_by_key_are_found_as_the_model_finds_them_when_keys_change_repeat_and_move(bool copyStatesAsMade)
    {
        using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        await log.InitializeAsync(default);
        using var reader = new ChangeEventReader(log, "test", itemsField: "todos", copyStatesAsMade: copyStatesAsMade);
        var random = new Random(20261206);
        var (position, byKey) = (0L, 0);
        for (var run = 0; run < 40; run++)
        {
            var model = new ModelKey("todo-list", $"l{run}");
            JsonNode? state = null;
            for (var version = 1; version <= 150;)
            {
                var (command, next) = Accepted(random, state);
                var change = await reader.ReadAsync(new LogEntry(++position, model, version++, command, DateTimeOffset.UnixEpoch), default);
                // Read in order, as a pipeline does; every state, and the item caught, is the model's own.
                Assert.Equal(next?.ToJsonString(), change.After?.ToJsonString());
                if (change.Item is { } item && command.Path.Contains('['))
                {
                    byKey++;
                    var slot = item.After["todos"]!.AsArray().SingleOrDefault() ?? item.Before["todos"]!.AsArray().Single();
                    Assert.Contains(next!["todos"]!.AsArray().Concat(state!["todos"]!.AsArray()), todo => JsonNode.DeepEquals(todo, slot));
                }
                state = next;
            }
        }
        Assert.True(byKey > 800, $"only {byKey} changes named their item by key");
    }

    [Fact]
    public async Task Ticking_one_todo_of_a_thousand_projects_that_todo_alone()
    {
        using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        await log.InitializeAsync(default);
        using var reader = new ChangeEventReader(log, "test", itemsField: "todos", copyStatesAsMade: false);
        var seen = new TodoCounting();
        var transform = new PipelineTransform(Pipeline("items", new RecordingView()), seen);
        var model = new ModelKey("todo-list", "l");
        var list = new JsonObject { ["title"] = "big", ["todos"] = new JsonArray([.. Enumerable.Range(0, 1000).Select(i => (JsonNode)new JsonObject { ["id"] = $"t{i}", ["done"] = false })]) };
        await reader.ReadAsync(new LogEntry(1, model, 1, new Command { Op = CommandOp.Create, Path = "", Value = list }, DateTimeOffset.UnixEpoch), default);

        var tick = await reader.ReadAsync(new LogEntry(2, model, 2, new Command { Op = CommandOp.Update, Path = "/todos/[id=t500]/done", Value = true }, DateTimeOffset.UnixEpoch), default);
        var written = transform.Project(tick);

        Assert.Equal("l:t500", Assert.Single(written).Key);
        Assert.True((bool)written[0].Document!["done"]!);
        // Once for the state after, once for the state before: one todo each time.
        Assert.Equal(2, seen.Todos);
    }

    /// <summary>The demo's todo projection, counting the todos it is handed.</summary>
    private sealed class TodoCounting : IProjection
    {
        private readonly TodoItemsProjection _inner = new();

        public int Todos { get; set; }

        public string Name => _inner.Name;

        public string? ItemsField => _inner.ItemsField;

        public IEnumerable<SinkDocument> Project(ChangeEvent change)
        {
            Todos += (change.After?["todos"] as JsonArray)?.Count ?? 0;
            return _inner.Project(change);
        }
    }
}

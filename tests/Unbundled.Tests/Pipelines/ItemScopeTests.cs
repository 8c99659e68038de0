using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.TodoApp.Projections;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// A change below one item is projected over that item alone (the projection declares <c>ItemsField</c>), and
/// derives exactly what projecting the whole model before and after derives: random commands of every shape,
/// by key and by index, against the same change with its path withheld; the todos' ids stay unique, as the
/// projection's promise asks.
/// </summary>
public sealed class ItemScopeTests
{
    private static ChangeEvent Change(JsonNode before, JsonNode after, Command command) => new()
    {
        Key = "l",
        Op = ChangeOp.Update,
        Before = before,
        After = after,
        Path = command.Op == CommandOp.Move ? null : command.Path,
        Source = new ChangeSource { Table = "todo-list", Position = 9, Version = 5 },
    };

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
        return random.Next(11) switch
        {
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

    [Fact]
    public void Random_changes_narrowed_to_their_item_derive_what_the_whole_model_derives()
    {
        var seen = new TodoCounting();
        var transform = new PipelineTransform(Pipeline("items", new RecordingView()), seen);
        var random = new Random(20261205);
        var narrowed = 0;
        for (var run = 0; run < 3000; run++)
        {
            var list = new JsonObject { ["title"] = $"list {random.Next(3)}", ["todos"] = new JsonArray([.. Enumerable.Range(0, random.Next(6)).Select(i => (JsonNode)Todo(random, $"t{i}"))]) };
            var command = RandomCommand(random, list);
            JsonNode after;
            try
            {
                after = ModelDocument.Apply(list.DeepClone(), command, DocumentPath.Parse(command.Path))!;
            }
            catch (CommandFailedException)
            {
                continue;
            }
            // The projection's promise: no two todos derive a document of the same key (the demo's model refuses a todo whose id is taken).
            var ids = ((JsonArray)after["todos"]!).Select(t => (string?)t?["id"]).ToList();
            if (ids.Distinct().Count() != ids.Count) continue;
            var change = Change(list, after, command);
            seen.Todos = 0;
            var scoped = Written(transform.Project(change));
            // Projected twice (after, before) over at most one todo each: narrowed, where the list had more.
            if (((JsonArray)list["todos"]!).Count > 2 && seen.Todos <= 2) narrowed++;

            Assert.True(scoped.SequenceEqual(Written(transform.Project(change with { Path = null }))),
                $"{command.Op} {command.Path}: {list.ToJsonString()} -> {after.ToJsonString()}");
        }
        // Most commands touch one item; the comparison above covered them, not only the fallbacks.
        Assert.True(narrowed > 500, $"only {narrowed} of the changes were narrowed");
    }

    [Fact]
    public void Ticking_one_todo_of_a_thousand_projects_that_todo_alone()
    {
        var seen = new TodoCounting();
        var transform = new PipelineTransform(Pipeline("items", new RecordingView()), seen);
        var list = new JsonObject { ["title"] = "big", ["todos"] = new JsonArray([.. Enumerable.Range(0, 1000).Select(i => (JsonNode)new JsonObject { ["id"] = $"t{i}", ["done"] = false })]) };
        var tick = new Command { Op = CommandOp.Update, Path = "/todos/[id=t500]/done", Value = true };
        var after = ModelDocument.Apply(list.DeepClone(), tick, DocumentPath.Parse(tick.Path))!;

        var written = transform.Project(Change(list, after, tick));

        Assert.Equal("l:t500", Assert.Single(written).Key);
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

using System.Text.Json.Nodes;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.Filtering;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// Aggregating views against a from-scratch recomputation: open todos grouped by their list's title, through
/// random interleavings of lists created, renamed (every todo moves group), deleted and created again, todos
/// added, ticked (leaving the group), unticked and deleted, with a crash between the aggregate store and the
/// sink in the middle. After each run every group's document equals what the final models give.
/// </summary>
public sealed class AggregationTests : IDisposable
{
    private static readonly string[] Titles = ["red", "green", "blue"];
    private readonly TempDirectory _directory = new();

    private static readonly AggregateDefinition OpenByTitle = new("{after.listTitle}", FilterCompiler.Compile("after.done == false"),
    [
        new AggregateField("open", AggregateFunction.Count, null),
        new AggregateField("lists", AggregateFunction.DistinctCount, "after.listId"),
        new AggregateField("first", AggregateFunction.Min, "after.title"),
        new AggregateField("last", AggregateFunction.Max, "after.title"),
        new AggregateField("newest", AggregateFunction.Collect, "after.title", "after.title", Descending: true, Limit: 3),
    ]);

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(3, false)]
    // A sink that asks for every document (a feed, a cache with a TTL) takes groups here: the members stay changes only.
    [InlineData(4, true)]
    public async Task Groups_equal_a_recomputation_after_random_moves_deletes_and_a_crash_between_store_and_sink(int seed, bool everyDocument)
    {
        var random = new Random(seed);
        var view = new RecordingView();
        var pipeline = Pipeline("open-by-title", view, batchSize: 7) with { Aggregate = OpenByTitle };
        pipeline = pipeline with { Sink = pipeline.Sink with { Options = new RecordingSinkOptions { View = view, WantsEveryDocument = everyDocument } } };
        var lists = new Dictionary<string, (string Title, Dictionary<string, (string Title, bool Done)> Todos)>();
        await using var harness = await RunWithCrashAsync(_directory.File("log.db"), pipeline, view, 150, (host, step) => StepAsync(host, random, lists, step));

        var expected = Recompute(lists);
        Assert.Equal(expected.Keys.Order(), view.Snapshot().Keys.Order());
        foreach (var (group, document) in expected)
            Assert.True(JsonNode.DeepEquals(document, view.Get(group)), $"group {group}: expected {document.ToJsonString()}, the view holds {view.Get(group)?.ToJsonString()}");
    }

    /// <summary>One random change, applied to the master and to the test's own copy of the lists.</summary>
    private static async Task StepAsync(PipelineHarness harness, Random random, Dictionary<string, (string Title, Dictionary<string, (string Title, bool Done)> Todos)> lists, int step)
    {
        var id = $"l{random.Next(4)}";
        if (!lists.TryGetValue(id, out var list))
        {
            var title = Titles[random.Next(Titles.Length)];
            await harness.FlushAsync(id, NewList(title));
            lists[id] = (title, []);
            return;
        }
        var todos = list.Todos;
        var pick = todos.Count > 0 ? todos.Keys.ElementAt(random.Next(todos.Count)) : null;
        switch (random.Next(10))
        {
            case 0:
                var renamed = Titles[random.Next(Titles.Length)];
                await harness.FlushAsync(id, Set("/title", renamed));
                lists[id] = (renamed, todos);
                break;
            case 1 when step % 3 == 0:
                await harness.FlushAsync(id, Delete(""));
                lists.Remove(id);
                break;
            case 2 or 3 when pick is not null:
                var done = !todos[pick].Done;
                await harness.FlushAsync(id, Set($"/todos/[id={pick}]/done", done));
                todos[pick] = (todos[pick].Title, done);
                break;
            case 4 when pick is not null:
                await harness.FlushAsync(id, Delete($"/todos/[id={pick}]"));
                todos.Remove(pick);
                break;
            default:
                var todo = $"t{step}";
                var text = $"{(char)('a' + random.Next(26))}{step}";
                await harness.FlushAsync(id, AddTodo(todo, text));
                todos[todo] = (text, false);
                break;
        }
    }

    /// <summary>Each group's document from the final lists alone.</summary>
    private static Dictionary<string, JsonObject> Recompute(Dictionary<string, (string Title, Dictionary<string, (string Title, bool Done)> Todos)> lists)
    {
        var members = lists.SelectMany(l => l.Value.Todos.Where(t => !t.Value.Done).Select(t => (Group: l.Value.Title, List: l.Key, t.Value.Title)));
        return members.GroupBy(m => m.Group).ToDictionary(g => g.Key, g => new JsonObject
        {
            ["group"] = g.Key,
            ["open"] = g.Count(),
            ["lists"] = g.Select(m => m.List).Distinct().Count(),
            ["first"] = g.Select(m => m.Title).Order(StringComparer.Ordinal).First(),
            ["last"] = g.Select(m => m.Title).Order(StringComparer.Ordinal).Last(),
            ["newest"] = new JsonArray([.. g.Select(m => m.Title).OrderDescending(StringComparer.Ordinal).Take(3).Select(t => (JsonNode)t)]),
        });
    }

    public void Dispose() => _directory.Dispose();
}

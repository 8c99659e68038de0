using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Joins;
using Unbundled.Sources.CommandLog;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// Joined views against a from-scratch recomputation: each todo embeds its author's profile (a <c>user</c> model of the
/// same log), through random interleavings of profiles created, renamed and deleted and todos added by different
/// people, ticked and deleted, with a crash between the join store and the sink in the middle. A changed profile
/// must reach every todo that embeds it.
/// </summary>
public sealed class JoinTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Every_todo_embeds_its_authors_profile_as_it_is_now_after_random_changes_on_both_sides_and_a_crash(int seed)
    {
        var random = new Random(seed);
        var view = new RecordingView();
        var pipeline = Pipeline("todos-with-authors", view, batchSize: 5) with
        {
            Source = new SourceDefinition("todos-and-users", new CommandLogSourceFactory([]), new CommandLogSourceOptions { Models = ["todo-list", "user"] }, new SourceSpan("test", 1, 1)),
            Join = new JoinDefinition("user", "{after.createdBy}", "author"),
        };
        var users = new Dictionary<string, string>();
        var todos = new Dictionary<string, (string List, string Author, string Title)>();
        var lists = new HashSet<string>();
        await using var harness = await RunWithCrashAsync(_directory.File("log.db"), pipeline, view, 150, (host, step) => StepAsync(host, random, users, todos, lists, step));

        Assert.Equal(todos.Keys.Order(), view.Snapshot().Keys.Order());
        foreach (var (key, (_, author, title)) in todos)
        {
            var document = view.Get(key)!;
            Assert.Equal(title, (string?)document["title"]);
            var expected = users.TryGetValue(author, out var name) ? new JsonObject { ["name"] = name } : null;
            Assert.True(JsonNode.DeepEquals(expected, document["author"]), $"{key} by {author}: expected {expected?.ToJsonString() ?? "null"}, the view holds {document["author"]?.ToJsonString() ?? "null"}");
        }
    }

    private static async Task StepAsync(PipelineHarness harness, Random random, Dictionary<string, string> users,
        Dictionary<string, (string List, string Author, string Title)> todos, HashSet<string> lists, int step)
    {
        var person = $"u{random.Next(4)}";
        var list = $"l{random.Next(3)}";
        switch (random.Next(8))
        {
            case 0 or 1:
                // A profile created or renamed.
                var name = $"{person}-name-{step}";
                await harness.FlushAsAsync(person, new ModelKey("user", person), users.ContainsKey(person) ? Set("/name", name) : new Command { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["name"] = name } });
                users[person] = name;
                break;
            case 2 when users.ContainsKey(person):
                await harness.FlushAsAsync(person, new ModelKey("user", person), Delete(""));
                users.Remove(person);
                break;
            case 3 when todos.Count > 0:
                var (key, todo) = todos.ElementAt(random.Next(todos.Count));
                await harness.FlushAsAsync(person, new ModelKey("todo-list", todo.List), Delete($"/todos/[id={key.Split(':')[1]}]"));
                todos.Remove(key);
                break;
            default:
                if (lists.Add(list)) await harness.FlushAsAsync(person, new ModelKey("todo-list", list), NewList(list));
                var id = $"t{step}";
                await harness.FlushAsAsync(person, new ModelKey("todo-list", list), AddTodo(id, $"todo {step}"));
                todos[$"{list}:{id}"] = (list, person, $"todo {step}");
                break;
        }
    }

    public void Dispose() => _directory.Dispose();
}

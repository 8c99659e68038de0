using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Client;
using Unbundled.Model;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Feeds;

/// <summary>
/// Two .NET replicas of one list race deletes, moves, creates and edits against the real server,
/// flushing and catching up at random points, over many seeded interleavings. Every edit writes a title
/// naming the todo its author addressed; replaying the master's log checks that no edit ever landed on
/// another todo, and that each edit was either applied once or refused and reported to its author.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class IdentityRaceTests : IAsyncLifetime
{
    private const int Interleavings = 120;
    private const int Steps = 30;
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task No_edit_ever_lands_on_another_todo_than_the_one_its_author_addressed()
    {
        for (var seed = 1; seed <= Interleavings; seed++)
            await RaceAsync(seed);
    }

    private async Task RaceAsync(int seed)
    {
        var random = new Random(seed);
        var list = $"race-{seed}";
        var alice = new ModelReplica(_server.Client, "todo-list", list);
        var bob = new ModelReplica(_server.Client, "todo-list", list);
        var rejected = new List<RejectedCommand>();
        alice.Rejected += rejected.Add;
        bob.Rejected += rejected.Add;

        alice.Apply(new Command { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["title"] = list, ["todos"] = new JsonArray() } });
        for (var i = 0; i < 6; i++) alice.Apply(NewTodo($"t{i}"));
        await alice.FlushAsync();
        await bob.ReadAsync();

        var edits = new HashSet<string>();
        for (var step = 0; step < Steps; step++)
        {
            var (replica, name) = random.Next(2) == 0 ? (alice, "alice") : (bob, "bob");
            var ids = replica.State!["todos"]!.AsArray().Select(t => (string)t!["id"]!).ToList();
            var roll = random.Next(100);
            if (roll < 15) await replica.FlushAsync();
            else if (roll < 25) await replica.CatchUpAsync(long.MaxValue);
            else if (roll < 33) replica.Apply(NewTodo(Guid.NewGuid().ToString("N")));
            else if (ids.Count == 0) continue;
            else if (roll < 48) replica.Apply(new Command { Op = CommandOp.Delete, Path = $"/todos/{Key(Pick(random, ids))}" });
            else if (roll < 63)
            {
                var target = random.Next(ids.Count + 1);
                replica.Apply(new Command { Op = CommandOp.Move, From = $"/todos/{Key(Pick(random, ids))}", Path = target == ids.Count ? "/todos/-" : $"/todos/{Key(ids[target])}" });
            }
            else
            {
                var id = Pick(random, ids);
                var title = $"{id}|{name}|{step}";
                edits.Add(title);
                replica.Apply(new Command { Op = CommandOp.Update, Path = $"/todos/{Key(id)}/title", Value = title });
            }
        }
        await alice.FlushAsync();
        await bob.FlushAsync();
        await alice.CatchUpAsync(long.MaxValue);
        await bob.CatchUpAsync(long.MaxValue);

        var label = $"seed {seed}";
        var applied = await ReplayCheckingEveryStateAsync(list, label);
        foreach (var refusal in rejected)
            Assert.True(refusal.ProblemType == "urn:unbundled:problem:item-missing", $"{label}: {refusal}");
        var refusedEdits = rejected.Select(r => r.Command.Op == CommandOp.Update ? (string?)r.Command.Value : null).OfType<string>().Where(edits.Contains).ToList();
        Assert.True(edits.SetEquals(applied.Concat(refusedEdits)), $"{label}: an edit was lost or duplicated");
        Assert.Equal(edits.Count, applied.Count + refusedEdits.Count);

        var master = (await _server.Client.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}"))!;
        Assert.True(JsonNode.DeepEquals(master["state"], alice.State), $"{label}: alice {alice.State} != master {master["state"]}");
        Assert.True(JsonNode.DeepEquals(master["state"], bob.State), $"{label}: bob {bob.State} != master {master["state"]}");
    }

    // After every command of the master's log, each todo's title still names that todo itself.
    private async Task<List<string>> ReplayCheckingEveryStateAsync(string list, string label)
    {
        var answer = (await _server.Client.GetFromJsonAsync<JsonObject>($"/models/todo-list/{list}/commands?since=0"))!;
        JsonNode? state = null;
        var appliedEdits = new List<string>();
        foreach (var entry in answer["commands"]!.AsArray().Select(e => e!))
        {
            var command = entry.Deserialize<Command>(new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
            state = ModelDocument.Apply(state, command, DocumentPath.Parse(command.Path));
            if (command.Op == CommandOp.Update && command.Path.EndsWith("/title", StringComparison.Ordinal)) appliedEdits.Add((string)command.Value!);
            foreach (var todo in state!["todos"]!.AsArray())
            {
                var id = (string)todo!["id"]!;
                var title = (string)todo["title"]!;
                Assert.True(title == id || title.StartsWith(id + "|", StringComparison.Ordinal),
                    $"{label}: after version {entry["version"]} ({command.Op} {command.Path}) todo {id} holds the edit '{title}'");
            }
        }
        return appliedEdits;
    }

    private static Command NewTodo(string id) =>
        new() { Op = CommandOp.Create, Path = "/todos/-", Value = new JsonObject { ["id"] = id, ["title"] = id, ["done"] = false } };

    private static string Key(string id) => new ItemKey("id", id).ToSegment();

    private static string Pick(Random random, List<string> ids) => ids[random.Next(ids.Count)];
}

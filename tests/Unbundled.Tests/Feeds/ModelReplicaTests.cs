using Unbundled.Testing;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Client;
using Unbundled.Model;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Feeds;

/// <summary>The .NET model replica against the real server: local commands at once, flushes rebased on the master, other clients' changes through the feed.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class ModelReplicaTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private RunningServer _server = null!;

    public async Task InitializeAsync() => _server = await RunningServer.StartWithPipelinesAsync(_directory, FeedWorkload.Yaml(), 1);

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Two_replicas_of_one_list_converge_through_flushes_and_the_feed_with_local_commands_kept_on_top()
    {
        var alice = new ModelReplica(_server.Client, "todo-list", "shared");
        alice.Apply(Command(CommandOp.Create, "", new JsonObject { ["title"] = "Shared", ["todos"] = new JsonArray(), ["n"] = 0 }));
        await alice.FlushAsync();
        var bob = new ModelReplica(_server.Client, "todo-list", "shared");
        await bob.ReadAsync();
        using var following = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var bobFollows = bob.FollowAsync(new FeedClient(_server.Client), "lists", "list:shared", following.Token);

        // Bob has a local change he has not flushed yet when Alice's change reaches him through the feed.
        bob.Apply(Command(CommandOp.Update, "/title", "Bob's title"));
        alice.Apply(Command(CommandOp.Create, "/todos/-", new JsonObject { ["title"] = "Milk" }));
        await alice.FlushAsync();
        await WaitUntilAsync(() => bob.Version == alice.Version);

        Assert.Equal("Bob's title", (string?)bob.State!["title"]);
        Assert.Equal("Milk", (string?)bob.State["todos"]![0]!["title"]);
        Assert.Equal(1, bob.Pending);

        await bob.FlushAsync();
        await alice.CatchUpAsync(bob.Version);
        var master = await _server.Client.GetFromJsonAsync<JsonObject>("/models/todo-list/shared");

        Assert.Equal(0, bob.Pending);
        Assert.True(JsonNode.DeepEquals(master!["state"], bob.State), $"bob {bob.State} != master {master["state"]}");
        Assert.True(JsonNode.DeepEquals(master["state"], alice.State), $"alice {alice.State} != master {master["state"]}");
        Assert.Equal((long)master["version"]!, bob.Version);
        await following.CancelAsync();
        await bobFollows.ContinueWith(_ => { });
    }

    [Fact]
    public async Task A_local_command_that_does_not_fit_throws_and_changes_nothing()
    {
        var replica = new ModelReplica(_server.Client, "todo-list", "strict");
        replica.Apply(Command(CommandOp.Create, "", new JsonObject { ["title"] = "Strict", ["todos"] = new JsonArray() }));

        Assert.Throws<CommandFailedException>(() => replica.Apply(Command(CommandOp.Update, "/todos/5/title", "nope")));
        Assert.Equal(1, replica.Pending);
        Assert.Equal("Strict", (string?)replica.State!["title"]);
    }

    private static Command Command(CommandOp op, string path, JsonNode? value = null) => new() { Op = op, Path = path, Value = value };

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 200 && !condition(); attempt++) await Task.Delay(50);
        Assert.True(condition(), "the replicas did not converge within 10 s");
    }
}

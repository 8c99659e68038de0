using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Unbundled.Log.Postgres;
using Unbundled.Log.Sqlite;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Contract;

/// <summary>What every aggregate store must do, whatever database holds it: members replaced by newer versions only, groups recomputed and handed out until written.</summary>
public abstract class AggregateStoreContract
{
    /// <summary>A store no other test uses.</summary>
    protected abstract Task<IAggregateStore> CreateStoreAsync([CallerMemberName] string test = "");

    /// <summary>A second store over the database the last one created uses, as another server instance has.</summary>
    protected abstract IAggregateStore AnotherInstance();

    private static MemberChange Member(string key, long version, string? group, int value) =>
        new(key, version, group, group is null ? null : new JsonObject { ["n"] = value });

    // The group's document: its members' sum, or nothing when it has none.
    private static JsonObject? Sum(string group, IReadOnlyList<JsonObject> members) =>
        members.Count == 0 ? null : new JsonObject { ["group"] = group, ["sum"] = members.Sum(m => (int)m["n"]!) };

    [Fact]
    public async Task Members_join_move_and_leave_and_each_group_is_computed_from_its_members_now()
    {
        var store = await CreateStoreAsync();
        var first = await store.ApplyAsync("v", [Member("a", 1, "x", 1), Member("b", 1, "x", 2), Member("c", 1, "y", 5)], Sum, default);
        await store.WrittenAsync("v", first, default);

        // b moves to y, c leaves every group, a changes its value.
        var second = await store.ApplyAsync("v", [Member("b", 2, "y", 2), Member("c", 2, null, 0), Member("a", 2, "x", 10)], Sum, default);

        Assert.Equal(10, (int)second.Single(g => g.Group == "x").Document!["sum"]!);
        Assert.Equal(2, (int)second.Single(g => g.Group == "y").Document!["sum"]!);
        Assert.True(second.All(g => g.Revision == 2));
        var emptied = await store.ApplyAsync("v", [Member("b", 3, null, 0)], Sum, default);
        Assert.Null(emptied.Single(g => g.Group == "y").Document);
    }

    [Fact]
    public async Task A_version_not_newer_than_the_members_changes_nothing_even_after_a_delete()
    {
        var store = await CreateStoreAsync();
        await store.WrittenAsync("v", await store.ApplyAsync("v", [Member("a", 5, "x", 1)], Sum, default), default);
        await store.WrittenAsync("v", await store.ApplyAsync("v", [Member("a", 6, null, 0)], Sum, default), default);

        // An older redelivery of the member must not bring it back.
        Assert.Empty(await store.ApplyAsync("v", [Member("a", 4, "x", 1), Member("a", 6, "x", 1)], Sum, default));
    }

    [Fact]
    public async Task A_group_not_written_yet_is_handed_out_again_until_it_is()
    {
        var store = await CreateStoreAsync();
        var applied = await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default);

        // The sink never got it (a crash): the next batch, even one about another group, gives it again.
        var next = await store.ApplyAsync("v", [Member("b", 1, "y", 2)], Sum, default);
        Assert.Equal(["x", "y"], next.Select(g => g.Group).Order());
        await store.WrittenAsync("v", next, default);
        Assert.Empty(await store.ApplyAsync("v", [], Sum, default));
        // Written at an older revision does not clear a newer one.
        var changed = await store.ApplyAsync("v", [Member("a", 2, "x", 7)], Sum, default);
        await store.WrittenAsync("v", applied, default);
        Assert.Equal(changed.Select(g => (g.Group, g.Revision)), (await store.ApplyAsync("v", [], Sum, default)).Select(g => (g.Group, g.Revision)));
    }

    [Fact]
    public async Task Groups_named_for_a_resend_are_handed_out_again_and_counted_and_no_others()
    {
        var store = await CreateStoreAsync();
        var first = await store.ApplyAsync("v", [Member("a", 1, "x", 1), Member("b", 1, "y", 2)], Sum, default);
        await store.WrittenAsync("v", first, default);

        // The sink refused y: a replay of its dead letter names it, and a key that is no group marks nothing.
        Assert.Equal(1, await store.ResendAsync("v", ["y", "not-a-group"], default));
        Assert.Equal(0, await store.ResendAsync("v", ["not-a-group"], default));

        var again = Assert.Single(await store.ApplyAsync("v", [], Sum, default));
        Assert.Equal(("y", 2), (again.Group, (int)again.Document!["sum"]!));
        await store.WrittenAsync("v", [again], default);
        // Counted over every statement of a batch (PostgreSQL sends them in one round trip, SQLite one by one).
        Assert.Equal(2, await store.ResendAsync("v", ["x", "not-a-group", "y"], default));
        await store.WrittenAsync("v", await store.ApplyAsync("v", [], Sum, default), default);
        Assert.Equal(2, await store.ResendAsync("v", null, default));
    }

    [Fact]
    public async Task A_group_another_instance_changed_since_is_computed_from_what_the_database_holds()
    {
        var store = await CreateStoreAsync();
        var other = AnotherInstance();
        await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default);
        // The view's owner moved to the other instance and back: what the first one computed last is out of date.
        await other.ApplyAsync("v", [Member("b", 1, "x", 2)], Sum, default);

        var x = (await store.ApplyAsync("v", [Member("c", 1, "x", 4)], Sum, default)).Single(g => g.Group == "x");

        Assert.Equal((7, 3L), ((int)x.Document!["sum"]!, x.Revision));
    }

    [Fact]
    public async Task A_view_dropped_and_built_again_elsewhere_is_computed_from_what_the_database_holds()
    {
        var store = await CreateStoreAsync();
        var other = AnotherInstance();
        await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default);
        await store.DropAsync("v", default);
        // Built again at the same revisions as the one dropped.
        await other.ApplyAsync("v", [Member("b", 1, "x", 2)], Sum, default);

        var x = (await store.ApplyAsync("v", [Member("c", 1, "x", 4)], Sum, default)).Single(g => g.Group == "x");

        Assert.Equal((6, 2L), ((int)x.Document!["sum"]!, x.Revision));
    }

    [Fact]
    public async Task Members_of_a_batch_that_failed_count_nowhere()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            store.ApplyAsync("v", [Member("b", 1, "x", 2), Member("a", 2, null, 0)], (_, _) => throw new InvalidOperationException("compute failed"), default));

        var x = (await store.ApplyAsync("v", [Member("c", 1, "x", 4)], Sum, default)).Single(g => g.Group == "x");

        Assert.Equal((5, 2L), ((int)x.Document!["sum"]!, x.Revision));
    }

    [Fact]
    public async Task Views_are_apart_and_a_dropped_one_is_forgotten()
    {
        var store = await CreateStoreAsync();
        await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default);
        await store.ApplyAsync("w", [Member("a", 1, "x", 3)], Sum, default);

        await store.DropAsync("v", default);

        Assert.Empty(await store.ApplyAsync("v", [], Sum, default));
        Assert.Equal(3, (int)(await store.ApplyAsync("w", [], Sum, default)).Single().Document!["sum"]!);
        Assert.Equal(1, (int)(await store.ApplyAsync("v", [Member("a", 1, "x", 1)], Sum, default)).Single().Document!["sum"]!);
    }
}

public sealed class SqliteAggregateStoreContractTests : AggregateStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    private string? _last;

    protected override Task<IAggregateStore> CreateStoreAsync([CallerMemberName] string test = "")
    {
        _last = _directory.File(test + ".db");
        return Task.FromResult(AnotherInstance());
    }

    protected override IAggregateStore AnotherInstance() =>
        new SqlAggregateStore(new SqliteStateDatabase(Options.Create(new SqliteLogOptions { Path = _last! })));

    public void Dispose() => _directory.Dispose();
}

[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresAggregateStoreContractTests(PostgresServer server) : AggregateStoreContract, IAsyncLifetime
{
    private readonly List<(PostgresStateDatabase Database, string Schema)> _stores = [];

    protected override Task<IAggregateStore> CreateStoreAsync([CallerMemberName] string test = "") => Task.FromResult<IAggregateStore>(Open(PostgresServer.UniqueSchema(test)));

    protected override IAggregateStore AnotherInstance() => Open(_stores[^1].Schema);

    private SqlAggregateStore Open(string schema)
    {
        var database = new PostgresStateDatabase(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = schema }));
        _stores.Add((database, schema));
        return new SqlAggregateStore(database);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (database, _) in _stores) await database.DisposeAsync();
        foreach (var schema in _stores.Select(s => s.Schema).Distinct()) await server.DropSchemaAsync(schema);
    }
}

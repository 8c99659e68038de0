using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Unbundled.Log.Postgres;
using Unbundled.Log.Sqlite;
using Unbundled.Pipelines.Joins;
using Unbundled.Pipelines.State;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Contract;

/// <summary>What every join store must do, whatever database holds it: both sides replaced by newer versions only, and a changed row reaching every document that names it.</summary>
public abstract class JoinStoreContract
{
    /// <summary>The database of a store no other test uses.</summary>
    protected abstract SqlStateDatabase CreateDatabase([CallerMemberName] string test = "");

    private static JoinedDocument Todo(string key, long version, string? author, string title) =>
        new(key, version, author, new JsonObject { ["title"] = title });

    private static JoinedRow User(string key, long version, string? name) => new(key, version, name is null ? null : new JsonObject { ["name"] = name });

    private static JsonObject Join(JsonObject document, JsonObject? row) => new() { ["title"] = document["title"]!.DeepClone(), ["author"] = row?["name"]?.DeepClone() };

    private static Dictionary<string, string?> Authors(IReadOnlyList<JoinedWrite> writes) => writes.ToDictionary(w => w.Key, w => (string?)w.Document?["author"]);

    [Fact]
    public async Task A_changed_row_reaches_every_document_that_names_it_and_only_those()
    {
        var store = new SqlJoinStore(CreateDatabase());
        var first = await store.ApplyAsync("v", [Todo("a", 1, "ann", "A"), Todo("b", 1, "ann", "B"), Todo("c", 1, "bob", "C")], [User("ann", 1, "Ann")], Join, null, default);
        Assert.Equal(new Dictionary<string, string?> { ["a"] = "Ann", ["b"] = "Ann", ["c"] = null }, Authors(first));
        await store.WrittenAsync("v", first, default);

        var renamed = await store.ApplyAsync("v", [], [User("ann", 2, "Anne")], Join, [], default);
        Assert.Equal(new Dictionary<string, string?> { ["a"] = "Anne", ["b"] = "Anne" }, Authors(renamed));
        Assert.All(renamed, w => Assert.Equal(2, w.Revision));
        await store.WrittenAsync("v", renamed, default);

        // A deleted row leaves its documents with no author; a deleted document is deleted, in its last form (a sink's key template renders from it).
        var gone = await store.ApplyAsync("v", [Todo("b", 2, "ann", "B") with { IsDelete = true }], [User("ann", 3, null)], Join, [], default);
        Assert.Equal(new Dictionary<string, string?> { ["a"] = null, ["b"] = null }, Authors(gone));
        var deleted = gone.Single(w => w.Key == "b");
        Assert.True(deleted.IsDelete);
        Assert.Equal("B", (string?)deleted.Document?["title"]);
        await store.WrittenAsync("v", gone, default);

        // A delete that knows only the key (Debezium's before under REPLICA IDENTITY DEFAULT: the rest null) keeps the
        // form stored; a row changed later does not bring the document back.
        var again = await store.ApplyAsync("v", [Todo("a", 2, "ann", "A") with { Document = new JsonObject { ["title"] = null }, IsDelete = true }], [User("ann", 4, "Ann")], Join, [], default);
        var a = Assert.Single(again);
        Assert.True(a.IsDelete);
        Assert.Equal("A", (string?)a.Document?["title"]);
    }

    [Fact]
    public async Task Versions_not_newer_change_nothing_and_unwritten_documents_are_handed_out_until_written()
    {
        var store = new SqlJoinStore(CreateDatabase());
        var written = await store.ApplyAsync("v", [Todo("a", 5, "ann", "A")], [User("ann", 5, "Ann")], Join, null, default);
        await store.WrittenAsync("v", written, default);

        Assert.Empty(await store.ApplyAsync("v", [Todo("a", 4, "ann", "old")], [User("ann", 4, "old")], Join, [], default));
        var changed = await store.ApplyAsync("v", [Todo("a", 6, "ann", "A2")], [], Join, [], default);
        // Not acknowledged: the next apply gives it again, named as handed out, or when every unwritten one is asked
        // for (a crash before the sink had it).
        Assert.Equal(changed.Select(w => (w.Key, w.Revision)), (await store.ApplyAsync("v", [], [], Join, ["a"], default)).Select(w => (w.Key, w.Revision)));
        Assert.Equal(changed.Select(w => (w.Key, w.Revision)), (await store.ApplyAsync("v", [], [], Join, null, default)).Select(w => (w.Key, w.Revision)));
        await store.ResendAsync("v", null, default);
        await store.WrittenAsync("v", changed, default);
        Assert.Empty(await store.ApplyAsync("v", [], [], Join, null, default));
    }

    [Fact]
    public async Task Unwritten_documents_are_looked_up_by_the_batchs_keys_rows_and_those_handed_out_and_all_are_read_on_asking()
    {
        var store = new SqlJoinStore(CreateDatabase());
        // a and b are left unwritten (a crash, another owner); c is written.
        var first = await store.ApplyAsync("v", [Todo("a", 1, "ann", "A"), Todo("b", 1, "bob", "B"), Todo("c", 1, "cid", "C")], [], Join, null, default);
        await store.WrittenAsync("v", first.Where(w => w.Key == "c").ToList(), default);

        // A batch touching only c's document and bob's row finds c and b; a, neither touched nor named, is not looked at.
        var touched = await store.ApplyAsync("v", [Todo("c", 2, "cid", "C2")], [User("bob", 1, "Bob")], Join, [], default);
        Assert.Equal(new Dictionary<string, string?> { ["b"] = "Bob", ["c"] = null }, Authors(touched));
        Assert.Equal(["a"], (await store.ApplyAsync("v", [], [], Join, ["a"], default)).Select(w => w.Key));
        Assert.Equal(["a", "b", "c"], (await store.ApplyAsync("v", [], [], Join, null, default)).Select(w => w.Key).Order());
    }

    [Fact]
    public async Task Documents_named_for_a_resend_are_handed_out_again_at_their_revision_and_no_others()
    {
        var store = new SqlJoinStore(CreateDatabase());
        var first = await store.ApplyAsync("v", [Todo("a", 1, "ann", "A"), Todo("b", 1, "bob", "B")], [User("bob", 1, "Bob")], Join, null, default);
        await store.WrittenAsync("v", first, default);

        // The sink refused b: a replay of its dead letter names it.
        Assert.Equal(1, await store.ResendAsync("v", ["b", "never-derived"], default));

        var again = Assert.Single(await store.ApplyAsync("v", [], [], Join, null, default));
        Assert.Equal(("b", first.Single(w => w.Key == "b").Revision, false), (again.Key, again.Revision, again.IsDelete));
        Assert.Equal("Bob", (string?)again.Document?["author"]);
        await store.WrittenAsync("v", [again], default);
        Assert.Empty(await store.ApplyAsync("v", [], [], Join, null, default));
        // Counted over every statement of a batch (PostgreSQL sends them in one round trip, SQLite one by one).
        Assert.Equal(2, await store.ResendAsync("v", ["a", "never-derived", "b"], default));
    }
}

public sealed class SqliteJoinStoreContractTests : JoinStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override SqlStateDatabase CreateDatabase([CallerMemberName] string test = "") =>
        new SqliteStateDatabase(Options.Create(new SqliteLogOptions { Path = _directory.File(test + ".db") }));

    public void Dispose() => _directory.Dispose();
}

[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresJoinStoreContractTests(PostgresServer server) : JoinStoreContract, IAsyncLifetime
{
    private readonly List<(PostgresStateDatabase Database, string Schema)> _databases = [];

    protected override SqlStateDatabase CreateDatabase([CallerMemberName] string test = "")
    {
        var schema = PostgresServer.UniqueSchema(test);
        var database = new PostgresStateDatabase(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = schema }));
        _databases.Add((database, schema));
        return database;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (database, schema) in _databases)
        {
            await database.DisposeAsync();
            await server.DropSchemaAsync(schema);
        }
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Model.Interceptors;
using Unbundled.TodoApp.Model;

namespace Unbundled.Tests.Master;

/// <summary>Flushout semantics of the master on the embedded log, with the demo model's interceptors.</summary>
public sealed class MasterModelTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 9, 30, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly List<IDisposable> _owned = [];

    private static readonly ModelKey List = new(TodoList.TypeName, "groceries");

    private async Task<(MasterModel Master, SqliteCommandLog Log)> CreateAsync(string file = "log.db", int maxTodos = 3, int snapshotEvery = 100)
    {
        var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File(file) }));
        await log.InitializeAsync(default);
        var types = new ModelTypeRegistry([new ModelType(TodoList.TypeName,
            [new CallerIdentityInterceptor(), new TodoStampInterceptor(), new MaxTodosInterceptor(maxTodos)])]);
        var master = new MasterModel(log, types, Options.Create(new MasterOptions { SnapshotEvery = snapshotEvery }),
            new FixedClock(Now), NullLogger<MasterModel>.Instance);
        _owned.Add(master);
        _owned.Add(log);
        return (master, log);
    }

    private static Command Create(string path, string json) => new() { Op = CommandOp.Create, Path = path, Value = JsonNode.Parse(json) };

    private static Command Update(string path, string json) => new() { Op = CommandOp.Update, Path = path, Value = JsonNode.Parse(json) };

    private static readonly Command NewList = Create("", """{"title":"Groceries","todos":[]}""");

    [Fact]
    public async Task A_flush_answers_with_the_new_version_its_position_and_its_commands_as_applied()
    {
        var (master, _) = await CreateAsync();

        var result = await master.FlushAsync(new FlushRequest(List, 0, [NewList, Create("/todos/-", """{"title":"Milk"}""")], "alice"), default);

        Assert.Equal(2, result.Version);
        Assert.Equal(2, result.Position);
        Assert.Null(result.Snapshot);
        var added = result.Commands![1];
        Assert.Equal("alice", added.Command.Meta!["by"]);
        Assert.Equal(Now.ToString("O"), (string?)added.Command.Value!["createdAt"]);
        Assert.False(string.IsNullOrEmpty((string?)added.Command.Value!["id"]));
        var state = await master.ReadAsync(List, null, default);
        Assert.Equal("Milk", (string?)state.Document!["todos"]![0]!["title"]);
    }

    [Fact]
    public async Task A_client_behind_the_master_gets_its_commands_applied_after_the_ones_it_missed()
    {
        var (master, _) = await CreateAsync();
        // A long description keeps the snapshot larger than the two missed commands, so commands are sent.
        var description = Update("/description", $"\"{new string('x', 2000)}\"");
        await master.FlushAsync(new FlushRequest(List, 0, [Create("", """{"title":"Groceries","description":"","todos":[]}""")]), default);
        await master.FlushAsync(new FlushRequest(List, 1, [description]), default);
        await master.FlushAsync(new FlushRequest(List, 2, [Create("/todos/-", """{"title":"Bread"}""")], "bob"), default);

        var result = await master.FlushAsync(new FlushRequest(List, 2, [Update("/title", "\"Weekend\"")], "alice"), default);

        Assert.Equal(4, result.Version);
        Assert.Equal([3L, 4], result.Commands!.Select(c => c.Version));
        Assert.Equal("bob", result.Commands![0].Command.Meta!["by"]);
        var state = await master.ReadAsync(List, null, default);
        Assert.Equal("Weekend", (string?)state.Document!["title"]);
        Assert.Equal("Bread", (string?)state.Document!["todos"]![0]!["title"]);
    }

    [Fact]
    public async Task A_client_far_behind_gets_a_snapshot_when_that_is_smaller_than_the_history()
    {
        var (master, _) = await CreateAsync(maxTodos: 100);
        await master.FlushAsync(new FlushRequest(List, 0, [NewList]), default);
        for (var i = 0; i < 30; i++)
            await master.FlushAsync(new FlushRequest(List, 1 + i, [Update("/title", $"\"Title {i}\"")]), default);

        var result = await master.FlushAsync(new FlushRequest(List, 1, []), default);

        Assert.Null(result.Commands);
        Assert.Equal(31, result.Snapshot!.Version);
        Assert.Equal("Title 29", (string?)result.Snapshot.State!["title"]);
    }

    [Fact]
    public async Task A_flush_that_breaks_a_rule_is_rejected_whole_naming_the_command()
    {
        var (master, log) = await CreateAsync(maxTodos: 2);
        await master.FlushAsync(new FlushRequest(List, 0, [NewList]), default);

        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(new FlushRequest(List, 1,
            [Create("/todos/-", """{"title":"a"}"""), Create("/todos/-", """{"title":"b"}"""), Create("/todos/-", """{"title":"c"}""")]), default));

        Assert.Equal(FlushError.CommandRejected, rejection.Error);
        Assert.Equal(2, rejection.CommandIndex);
        Assert.Equal("a list holds at most 2 todos", rejection.Message);
        Assert.Equal(1, await log.ReadHeadAsync(default));
        Assert.Empty((JsonArray)(await master.ReadAsync(List, null, default)).Document!["todos"]!);
    }

    [Fact]
    public async Task The_rules_see_the_state_after_the_commands_the_client_missed()
    {
        var (master, _) = await CreateAsync(maxTodos: 2);
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Create("/todos/-", """{"title":"a"}""")]), default);
        await master.FlushAsync(new FlushRequest(List, 2, [Create("/todos/-", """{"title":"b"}""")]), default);

        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() =>
            master.FlushAsync(new FlushRequest(List, 2, [Create("/todos/-", """{"title":"c"}""")]), default));

        Assert.Equal(0, rejection.CommandIndex);
    }

    [Theory]
    [InlineData(FlushError.UnknownModelType)]
    [InlineData(FlushError.InvalidPath)]
    [InlineData(FlushError.VersionAhead)]
    [InlineData(FlushError.TooLarge)]
    [InlineData(FlushError.Malformed)]
    public async Task Every_refusal_leaves_the_log_unchanged(FlushError error)
    {
        var (master, log) = await CreateAsync();
        await master.FlushAsync(new FlushRequest(List, 0, [NewList]), default);
        var request = error switch
        {
            FlushError.UnknownModelType => new FlushRequest(new ModelKey("nope", "x"), 0, [NewList]),
            FlushError.InvalidPath => new FlushRequest(List, 1, [Update("/title", "\"x\""), Update("title", "\"y\"")]),
            FlushError.VersionAhead => new FlushRequest(List, 7, [Update("/title", "\"x\"")]),
            FlushError.TooLarge => new FlushRequest(List, 1, Enumerable.Repeat(Update("/title", "\"x\""), 1001).ToList()),
            _ => new FlushRequest(List, -1, [Update("/title", "\"x\"")]),
        };

        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(request, default));

        Assert.Equal(error, rejection.Error);
        Assert.Equal(1, await log.ReadHeadAsync(default));
    }

    [Fact]
    public async Task Concurrent_flushes_to_one_model_never_interleave_and_lose_nothing()
    {
        var (master, log) = await CreateAsync(maxTodos: 10_000);
        await master.FlushAsync(new FlushRequest(List, 0, [NewList]), default);

        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (client, ct) =>
        {
            var commands = Enumerable.Range(0, 5).Select(i => Create("/todos/-", $$"""{"title":"{{client}}-{{i}}"}""")).ToList();
            await master.FlushAsync(new FlushRequest(List, 1, commands), ct);
        });

        var entries = await log.ReadModelEntriesAsync(List, 1, default);
        Assert.Equal(200, entries.Count);
        foreach (var flush in entries.Chunk(5))
        {
            var client = flush.Select(e => ((string)e.Command.Value!["title"]!).Split('-')[0]).Distinct();
            Assert.Single(client);
            Assert.Equal(["0", "1", "2", "3", "4"], flush.Select(e => ((string)e.Command.Value!["title"]!).Split('-')[1]));
        }
    }

    [Fact]
    public async Task Two_masters_over_one_log_like_two_server_processes_lose_no_command()
    {
        var (first, log) = await CreateAsync(maxTodos: 10_000);
        var (second, _) = await CreateAsync(maxTodos: 10_000);
        await first.FlushAsync(new FlushRequest(List, 0, [NewList]), default);
        await second.FlushAsync(new FlushRequest(List, 1, []), default);

        await Parallel.ForEachAsync(Enumerable.Range(0, 60), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (client, ct) =>
        {
            var master = client % 2 == 0 ? first : second;
            var commands = Enumerable.Range(0, 3).Select(i => Create("/todos/-", $$"""{"title":"{{client}}-{{i}}"}""")).ToList();
            await master.FlushAsync(new FlushRequest(List, 1, commands), ct);
        });

        var entries = await log.ReadModelEntriesAsync(List, 0, default);
        Assert.Equal(181, entries.Count);
        Assert.Equal(Enumerable.Range(1, 181).Select(v => (long)v), entries.Select(e => e.Version));
        foreach (var flush in entries.Skip(1).Chunk(3))
            Assert.Single(flush.Select(e => ((string)e.Command.Value!["title"]!).Split('-')[0]).Distinct());
        var state = await second.ReadAsync(List, null, default);
        Assert.Equal(180, ((JsonArray)state.Document!["todos"]!).Count);
    }

    [Fact]
    public async Task A_model_reloads_from_its_snapshot_and_the_entries_after_it()
    {
        var (master, log) = await CreateAsync(maxTodos: 100, snapshotEvery: 4);
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Update("/title", "\"1\""), Update("/title", "\"2\"")]), default);
        await master.FlushAsync(new FlushRequest(List, 3, [Update("/title", "\"3\""), Update("/title", "\"4\"")]), default);

        var stored = await log.ReadModelAsync(List, default);
        var state = await master.ReadAsync(List, null, default);

        Assert.Equal(5, stored.Snapshot!.Version);
        Assert.Equal(5, state.Version);
        Assert.Equal("4", (string?)state.Document!["title"]);
    }

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        _directory.Dispose();
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

using Unbundled.Tests.Log;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Unbundled.Log;
using Unbundled.Model;

namespace Unbundled.Tests.Contract;

/// <summary>
/// What every command log store must do. Each store's test class derives from this and supplies a
/// fresh, isolated log; the same assertions then run against SQLite and PostgreSQL alike.
/// </summary>
public abstract class CommandLogContract
{
    /// <summary>A new, empty, initialised log that no other test sees.</summary>
    protected abstract Task<ICommandLog> CreateLogAsync([CallerMemberName] string test = "");

    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static Command Create(string path, JsonNode? value) => new() { Op = CommandOp.Create, Path = path, Value = value };

    private static ModelAppend Append(string id, long expected, int count, ModelSnapshot? snapshot = null) =>
        new(new ModelKey("list", id), expected,
            Enumerable.Range(0, count).Select(i => Create("/items/-", JsonValue.Create(i))).ToList(), Now, snapshot);

    [Fact]
    public async Task Positions_start_at_one_and_have_no_gaps_across_models_and_appends()
    {
        var log = await CreateLogAsync();
        var first = await log.AppendAsync([Append("a", 0, 3), Append("b", 0, 2)], default);
        var second = await log.AppendAsync([Append("a", 3, 1)], default);

        Assert.Equal([new AppendResult(1, 3), new AppendResult(4, 5)], first);
        Assert.Equal([new AppendResult(6, 6)], second);
        var entries = await log.ReadAsync(0, 100, default);
        Assert.Equal([1L, 2, 3, 4, 5, 6], entries.Select(e => e.Position));
        Assert.Equal([1L, 2, 3, 1, 2, 4], entries.Select(e => e.Version));
        Assert.Equal(6, await log.ReadHeadAsync(default));
    }

    [Fact]
    public async Task An_append_at_a_stale_version_writes_nothing_of_the_whole_batch()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 2)], default);

        var conflict = await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            log.AppendAsync([Append("b", 0, 5), Append("a", 1, 1)], default));

        Assert.Equal(new ModelKey("list", "a"), conflict.Model);
        Assert.Equal(2, await log.ReadHeadAsync(default));
        Assert.Equal(0, (await log.ReadModelAsync(new ModelKey("list", "b"), default)).Version);
        var next = await log.AppendAsync([Append("b", 0, 1)], default);
        Assert.Equal(new AppendResult(3, 3), Assert.Single(next));
    }

    [Fact]
    public async Task Creating_a_model_that_exists_and_advancing_one_that_does_not_both_conflict()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 1)], default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => log.AppendAsync([Append("a", 0, 1)], default));
        await Assert.ThrowsAsync<ConcurrencyConflictException>(() => log.AppendAsync([Append("ghost", 4, 1)], default));
        Assert.Equal(1, await log.ReadHeadAsync(default));
    }

    [Fact]
    public async Task Reads_after_a_position_come_in_order_and_respect_the_limit()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 10)], default);

        var page = await log.ReadAsync(4, 3, default);

        Assert.Equal([5L, 6, 7], page.Select(e => e.Position));
        Assert.Empty(await log.ReadAsync(10, 3, default));
    }

    [Fact]
    public async Task A_command_reads_back_exactly_as_it_was_appended()
    {
        var log = await CreateLogAsync();
        var command = new Command
        {
            Op = CommandOp.Update,
            Path = "/todos/0/t~1itle",
            Value = JsonNode.Parse("""{"text":"Grüße 🌍","n":[1,2.5,null,true]}"""),
            Meta = new Dictionary<string, string> { ["by"] = "alice" },
        };
        await log.AppendAsync([new ModelAppend(new ModelKey("list", "x"), 0, [command], Now)], default);

        var entry = Assert.Single(await log.ReadAsync(0, 10, default));

        Assert.Equal(new ModelKey("list", "x"), entry.Model);
        Assert.Equal(CommandOp.Update, entry.Command.Op);
        Assert.Equal("/todos/0/t~1itle", entry.Command.Path);
        Assert.True(JsonNode.DeepEquals(command.Value, entry.Command.Value));
        Assert.Equal("alice", entry.Command.Meta!["by"]);
        Assert.Equal(Now, entry.Timestamp);
    }

    [Fact]
    public async Task A_model_reads_with_its_version_last_position_and_newest_snapshot()
    {
        var log = await CreateLogAsync();
        var key = new ModelKey("list", "a");
        await log.AppendAsync([Append("a", 0, 2, new ModelSnapshot(2, JsonNode.Parse("""{"items":[0,1]}""")))], default);
        await log.AppendAsync([Append("other", 0, 1)], default);
        await log.AppendAsync([Append("a", 2, 3)], default);

        var stored = await log.ReadModelAsync(key, default);

        Assert.Equal(5, stored.Version);
        Assert.Equal(6, stored.LastPosition);
        Assert.Equal(2, stored.Snapshot!.Version);
        Assert.Equal("""{"items":[0,1]}""", stored.Snapshot.State!.ToJsonString());
        Assert.Equal([3L, 4, 5], (await log.ReadModelEntriesAsync(key, 2, default)).Select(e => e.Version));
        Assert.Equal(new StoredModel(new ModelKey("list", "none"), 0, 0, null), await log.ReadModelAsync(new ModelKey("list", "none"), default));
    }

    [Fact]
    public async Task A_snapshot_of_a_deleted_model_keeps_its_null_state()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 1, new ModelSnapshot(1, null))], default);

        var stored = await log.ReadModelAsync(new ModelKey("list", "a"), default);

        Assert.Equal(1, stored.Snapshot!.Version);
        Assert.Null(stored.Snapshot.State);
    }

    [Fact]
    public async Task A_waiting_reader_wakes_when_an_append_lands()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 1)], default);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var waiting = log.WaitForEntriesAsync(1, timeout.Token);
        await log.AppendAsync([Append("a", 1, 1)], default);
        // Wide for a loaded machine, yet well inside the 30 s safety poll: only the append's signal can wake it.
        await waiting.WaitAsync(TimeSpan.FromSeconds(15));

        await log.WaitForEntriesAsync(0, timeout.Token).WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_tailing_reader_sees_the_backlog_then_live_appends_in_order()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 3)], default);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<long>();

        var tail = Task.Run(async () =>
        {
            await foreach (var entry in log.TailAsync(1, batchSize: 2, stop.Token))
            {
                seen.Add(entry.Position);
                if (entry.Position == 6) return;
            }
        });
        await log.AppendAsync([Append("b", 0, 1)], default);
        await log.AppendAsync([Append("a", 3, 2)], default);
        await tail.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([2L, 3, 4, 5, 6], seen);
    }

    [Fact]
    public async Task Initialising_again_keeps_what_the_log_holds()
    {
        var log = await CreateLogAsync();
        await log.AppendAsync([Append("a", 0, 2)], default);

        await log.InitializeAsync(default);

        Assert.Equal(2, await log.ReadHeadAsync(default));
    }
}

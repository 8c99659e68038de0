using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Sqlite;
using Unbundled.Model;
using Unbundled.Sources.CommandLog;

namespace Unbundled.Tests.Sources;

/// <summary>Change events from log entries when the reader has not seen the model's earlier entries (a catch-up, a restart).</summary>
public sealed class ChangeEventReaderTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_model_it_never_saw_starts_from_its_stored_snapshot_when_that_is_not_past_the_entry()
    {
        using var log = await LogWithSnapshotAtVersion3Async();
        using var events = new ChangeEventReader(log, "test");
        var entries = await log.ReadModelEntriesAsync(new ModelKey("list", "a"), 0, default);

        var fifth = await events.ReadAsync(entries[4], default);

        // Only the stored snapshot has a "from" member: the reader started from it, not from version 1.
        Assert.Equal("snapshot", (string?)fifth.Before!["from"]);
        Assert.Equal((31, 32), ((int)fifth.Before["n"]!, (int)fifth.After!["n"]!));
    }

    [Fact]
    public async Task An_entry_older_than_the_snapshot_is_rebuilt_from_the_first_entry()
    {
        using var log = await LogWithSnapshotAtVersion3Async();
        using var events = new ChangeEventReader(log, "test");
        var entries = await log.ReadModelEntriesAsync(new ModelKey("list", "a"), 0, default);

        var second = await events.ReadAsync(entries[1], default);

        Assert.Equal((0, 1), ((int)second.Before!["n"]!, (int)second.After!["n"]!));
        Assert.Null(second.Before["from"]);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>A model whose n goes 0, 1, 2, 31, 32, 33 over versions 1..6, with a snapshot at version 3 marked as such.</summary>
    private async Task<SqliteCommandLog> LogWithSnapshotAtVersion3Async()
    {
        var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        await log.InitializeAsync(default);
        var model = new ModelKey("list", "a");
        Command Set(int n) => new() { Op = CommandOp.Update, Path = "/n", Value = n };
        await log.AppendAsync([new ModelAppend(model, 0, [new Command { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["n"] = 0 } }, Set(1), Set(2)],
            DateTimeOffset.UtcNow, new ModelSnapshot(3, new JsonObject { ["n"] = 2, ["from"] = "snapshot" }))], default);
        await log.AppendAsync([new ModelAppend(model, 3, [Set(31), Set(32), Set(33)], DateTimeOffset.UtcNow)], default);
        return log;
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Model;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Log;

/// <summary>
/// The gap trap of sequence-based logs, pinned: many writers whose transactions commit in any order,
/// and a reader tailing all the while that must see every entry exactly once, in position order.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresAppendOrderingTests(PostgresServer server) : IAsyncLifetime
{
    private const int Writers = 8;
    private const int Entries = 50_000;
    private const int CommandsPerAppend = 10;
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(PostgresAppendOrderingTests));
    private readonly List<PostgresCommandLog> _logs = [];

    private async Task<PostgresCommandLog> OpenLogAsync(TimeSpan? safetyPoll = null)
    {
        // Each writer has its own instance, connections and pool, as separate server processes would.
        var log = new PostgresCommandLog(Options.Create(new PostgresLogOptions
        {
            ConnectionString = server.ConnectionString,
            Schema = _schema,
            SafetyPollInterval = safetyPoll ?? TimeSpan.FromSeconds(5),
        }));
        _logs.Add(log);
        await log.InitializeAsync(default);
        return log;
    }

    private static ModelAppend Append(ModelKey model, long expected, int count) =>
        new(model, expected, Enumerable.Range(0, count).Select(i => new Command { Op = CommandOp.Create, Path = "/-", Value = JsonValue.Create(i) }).ToList(),
            DateTimeOffset.UtcNow);

    [Fact]
    public async Task Concurrent_writers_and_a_tailing_reader_see_every_entry_exactly_once_in_order()
    {
        var reader = await OpenLogAsync();
        var writers = new List<PostgresCommandLog>();
        for (var i = 0; i < Writers; i++) writers.Add(await OpenLogAsync());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));

        var seen = new List<LogEntry>(Entries);
        var tailing = Task.Run(async () =>
        {
            await foreach (var entry in reader.TailAsync(0, batchSize: 500, timeout.Token))
            {
                seen.Add(entry);
                if (seen.Count == Entries) return;
            }
        });

        var appendsPerWriter = Entries / CommandsPerAppend / Writers;
        await Task.WhenAll(writers.Select((log, w) => Task.Run(async () =>
        {
            var versions = new long[25];
            for (var a = 0; a < appendsPerWriter; a++)
            {
                // Several models per writer, each written by one writer only, and small random pauses so
                // that transactions overlap and commit in an order unrelated to when they started.
                var m = a % versions.Length;
                await log.AppendAsync([Append(new ModelKey("list", $"w{w}-m{m}"), versions[m], CommandsPerAppend)], timeout.Token);
                versions[m] += CommandsPerAppend;
                if (Random.Shared.Next(8) == 0) await Task.Delay(Random.Shared.Next(3));
            }
        })));
        await tailing.WaitAsync(timeout.Token);

        Assert.Equal(Enumerable.Range(1, Entries).Select(p => (long)p), seen.Select(e => e.Position));
        Assert.Equal(Entries, seen.Select(e => (e.Model, e.Version)).Distinct().Count());
        foreach (var model in seen.GroupBy(e => e.Model))
            Assert.Equal(Enumerable.Range(1, model.Count()).Select(v => (long)v), model.Select(e => e.Version));
    }

    [Fact]
    public async Task A_reader_is_woken_by_the_notification_not_by_its_safety_poll()
    {
        var log = await OpenLogAsync(safetyPoll: TimeSpan.FromSeconds(30));
        var writer = await OpenLogAsync();
        await WaitUntilQuietAsync(log);

        var waiting = log.WaitForEntriesAsync(0, default);
        await writer.AppendAsync([Append(new ModelKey("list", "a"), 0, 1)], default);

        // Half the 30 s safety poll: generous on a loaded machine, and still only a notification can wake it.
        await waiting.WaitAsync(TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task A_reader_is_still_woken_promptly_after_its_listener_connection_is_killed()
    {
        var log = await OpenLogAsync(safetyPoll: TimeSpan.FromSeconds(30));
        var writer = await OpenLogAsync();
        await WaitUntilQuietAsync(log);
        var killed = await ListenerBackendAsync() ?? throw new InvalidOperationException("no listener connection to kill");

        await using (var connection = new NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var kill = new NpgsqlCommand($"SELECT pg_terminate_backend({killed})", connection);
            await kill.ExecuteNonQueryAsync();
        }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await ListenerBackendAsync() is not { } replacement || replacement == killed)
        {
            Assert.True(DateTime.UtcNow < deadline, "the listener did not reconnect within 10 s");
            await Task.Delay(100);
        }
        await WaitUntilQuietAsync(log);

        var waiting = log.WaitForEntriesAsync(0, default);
        await writer.AppendAsync([Append(new ModelKey("list", "a"), 0, 1)], default);

        // Half the 30 s safety poll: generous on a loaded machine, and still only a notification can wake it.
        await waiting.WaitAsync(TimeSpan.FromSeconds(15));
    }

    // The backend that LISTENs on this test's channel (named as the log names it: prefix + schema, cut at 63 bytes).
    private async Task<int?> ListenerBackendAsync()
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var find = new NpgsqlCommand("""
            SELECT pid FROM pg_stat_activity
            WHERE query = 'LISTEN "' || left('unbundled_log_' || lower($1), 63) || '"' AND state = 'idle'
            """, connection);
        find.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _schema });
        return await find.ExecuteScalarAsync() as int?;
    }

    // The listener announces its (re)connection with a wake-up; wait until a wait really blocks.
    private static async Task WaitUntilQuietAsync(PostgresCommandLog log)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            try
            {
                await log.WaitForEntriesAsync(0, quiet.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
        Assert.Fail("the log kept waking with nothing appended");
    }

    [Fact]
    public async Task An_append_that_fails_its_version_check_leaves_no_gap_and_no_row()
    {
        var log = await OpenLogAsync();
        await log.AppendAsync([Append(new ModelKey("list", "a"), 0, 2)], default);

        await Assert.ThrowsAsync<ConcurrencyConflictException>(() =>
            log.AppendAsync([Append(new ModelKey("list", "b"), 0, 3), Append(new ModelKey("list", "a"), 0, 1)], default));
        var next = await log.AppendAsync([Append(new ModelKey("list", "c"), 0, 1)], default);

        Assert.Equal(new AppendResult(3, 3), Assert.Single(next));
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand($"SELECT count(*), max(position) FROM \"{_schema}\".command_log", connection);
        await using var row = await count.ExecuteReaderAsync();
        await row.ReadAsync();
        Assert.Equal((3L, 3L), (row.GetInt64(0), row.GetInt64(1)));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var log in _logs) await log.DisposeAsync();
        await server.DropSchemaAsync(_schema);
    }
}

using System.Diagnostics;
using System.Text.Json.Nodes;
using Unbundled.Testing;
using Unbundled.Tests.Services;
using Unbundled.Tests.Sources.Postgres;

namespace Unbundled.Tests.Integration;

/// <summary><c>unbundled pipe</c> as a user runs it: in the foreground until Ctrl-C, and with <c>--save</c>.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PipeCommandTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(postgres, "pipe_cli");
    private readonly TempDirectory _directory = new();
    private readonly List<string> _slots = [];

    public Task InitializeAsync() => _db.CreateAsync();

    [Fact]
    public async Task A_pipe_snapshots_then_streams_into_its_sink_and_stops_cleanly_on_ctrl_c()
    {
        await _db.ExecuteAsync("create table orders (id int primary key, status text, total numeric(10,2))");
        await _db.ExecuteAsync("insert into orders select g, case when g % 3 = 0 then 'cancelled' else 'new' end, g from generate_series(1, 300) g");
        var output = Path.Combine(_directory.Path, "out");
        var line = $"postgres:{_db.Schema}.orders?connection={postgres.ConnectionString} | where after.status != \"cancelled\" | select id,total | ndjson:{output}";
        _slots.Add($"unbundled_pipe_{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(line)))[..8]}_g0");

        var said = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var pipe = Start(["pipe", line, $"--Unbundled:Log:Sqlite:Path={_directory.File("log.db")}"]);
        // Its output is read as it comes, or a full pipe buffer would block it.
        pipe.OutputDataReceived += (_, e) => { if (e.Data is { } text) said.Enqueue(text); };
        pipe.ErrorDataReceived += (_, e) => { if (e.Data is { } text) said.Enqueue(text); };
        pipe.BeginOutputReadLine();
        pipe.BeginErrorReadLine();
        try
        {
            await WaitUntilAsync(() => View(output).Count == 200, said);
            await _db.ExecuteAsync("update orders set total = 999 where id = 1");
            await _db.ExecuteAsync("update orders set status = 'cancelled' where id = 2");
            await WaitUntilAsync(() => View(output) is var view && view.TryGetValue("1", out var one) && (decimal)one["total"]! == 999 && !view.ContainsKey("2"), said);

            using (var interrupt = Process.Start("kill", ["-INT", pipe.Id.ToString()])) await interrupt.WaitForExitAsync();
            Assert.True(pipe.WaitForExit(15_000), $"the pipe did not stop on Ctrl-C ({SignalState(pipe.Id)}); it said:\n{string.Join('\n', said.TakeLast(20))}");
            pipe.WaitForExit(); // the rest of its output
            Assert.Contains(said, line => line.Contains("SIGINT received, stopping the pipe"));
            Assert.Contains(said, line => line.Contains("the pipe stopped in"));
            Assert.Equal(0, pipe.ExitCode);
        }
        finally
        {
            // A failed test must not leave the pipe running (and holding its slot).
            if (!pipe.HasExited) pipe.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_pipe_with_a_mistake_points_at_it_and_save_adds_a_valid_pipeline_to_the_file()
    {
        var file = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(file, "# views\nsources:\n  lists:\n    models: [todo-list]\n");

        using (var broken = Start(["pipe", "log:todo-list | where after.title === 1 | ndjson:out"]))
        {
            var errors = await broken.StandardError.ReadToEndAsync();
            await broken.WaitForExitAsync();
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Contains("pipe:1:23: error:", errors);
            Assert.Contains("                      ^", errors);
        }

        using var save = Start(["pipe", $"log:todo-list | select title | ndjson:{_directory.Path}/journal", "--save", "titles", "--file", file]);
        var said = await save.StandardOutput.ReadToEndAsync();
        await save.WaitForExitAsync();
        Assert.Equal(0, save.ExitCode);
        Assert.Contains("pipeline 'titles' added", said);
        var text = await File.ReadAllTextAsync(file);
        Assert.StartsWith("# views\nsources:\n  lists:", text);

        using var validate = Start(["validate", file]);
        var verdict = await validate.StandardOutput.ReadToEndAsync();
        await validate.WaitForExitAsync();
        Assert.Contains("2 source(s), 1 sink(s), 1 pipeline(s): valid", verdict);
    }

    /// <summary>The process's pending, blocked and ignored signal masks, as the kernel shows them.</summary>
    private static string SignalState(int pid) =>
        File.Exists($"/proc/{pid}/status") ? string.Join(", ", File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("Sig") || l.StartsWith("ShdPnd"))) : "gone";

    private Process Start(string[] arguments)
    {
        // A test run started in the background (nohup, a CI job) ignores SIGINT, and children inherit that: the pipe
        // would never see the Ctrl-C sent to it. A terminal's Ctrl-C reaches a process whose SIGINT is at its default.
        var start = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet", ServerProcess.CliPath, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _directory.Path,
        };
        return Process.Start(start)!;
    }

    /// <summary>The NDJSON view as any tool reads it: the compacted file, then the journal's committed batches.</summary>
    private static Dictionary<string, JsonNode> View(string directory)
    {
        var view = new Dictionary<string, JsonNode>();
        var pending = new List<JsonObject>();
        foreach (var file in new[] { "view.ndjson", "changes.ndjson" }.Select(f => Path.Combine(directory, f)).Where(File.Exists))
        {
            // Read by another program, as a tool would: .NET's own advisory lock would refuse this process while the pipe writes.
            using var cat = Process.Start(new ProcessStartInfo("cat", [file]) { RedirectStandardOutput = true })!;
            foreach (var line in cat.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (JsonNode.Parse(line) is not JsonObject entry) continue;
                if (entry["offset"] is null) { pending.Add(entry); continue; }
                foreach (var change in pending)
                {
                    if ((string?)change["op"] == "delete") view.Remove((string)change["key"]!);
                    else view[(string)change["key"]!] = change["doc"]!.DeepClone();
                }
                pending.Clear();
            }
        }
        return view;
    }

    private static async Task<int> SlotStatementAsync(Npgsql.NpgsqlConnection connection, string sql, string slot)
    {
        await using var command = new Npgsql.NpgsqlCommand(sql, connection) { Parameters = { new() { Value = slot } } };
        return (int)(await command.ExecuteScalarAsync())!;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, IEnumerable<string> said)
    {
        for (var attempt = 0; attempt < 240 && !condition(); attempt++) await Task.Delay(250);
        Assert.True(condition(), string.Join('\n', said.TakeLast(30)));
    }

    public async Task DisposeAsync()
    {
        // The pipe's slot is named after its line, not after the test's schema: dropped here by name. A walsender may still
        // hold it a moment after the pipe's process ended; left active, it was skipped and kept WAL forever (two such
        // slots held 56 GB on this machine), so its session is ended first.
        await using (var connection = new Npgsql.NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            foreach (var slot in _slots)
            {
                for (var attempt = 0; attempt < 50 && await SlotStatementAsync(connection, "select count(*)::int from pg_replication_slots where slot_name = $1", slot) > 0; attempt++)
                {
                    await SlotStatementAsync(connection, "select count(pg_terminate_backend(active_pid))::int from pg_replication_slots where slot_name = $1 and active", slot);
                    await SlotStatementAsync(connection, "select count(pg_drop_replication_slot(slot_name))::int from pg_replication_slots where slot_name = $1 and not active", slot);
                    await Task.Delay(100);
                }
            }
        }
        await _db.DisposeAsync();
        _directory.Dispose();
    }
}

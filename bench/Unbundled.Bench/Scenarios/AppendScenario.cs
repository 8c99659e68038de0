using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Log.Sqlite;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// Append throughput through the master: flushes of 100 commands spread over 1,000 models, issued by
/// concurrent clients, against the fastest raw way to put the same rows into the same database
/// (binary COPY for PostgreSQL, one prepared-insert transaction for SQLite).
/// </summary>
internal static class AppendScenario
{
    private const int Models = 1_000;
    private const int CommandsPerFlush = 100;
    private const int Clients = 16;

    // Both sides run twice, alternately, and the better run of each counts: the database's own
    // background work (checkpoints, autovacuum) otherwise lands on whichever side runs second.
    private const int Rounds = 2;

    public static async Task<BenchResult> PostgresAsync(bool quick)
    {
        var connectionString = await LocalServices.GetAsync("UNBUNDLED_POSTGRES");
        var commands = quick ? 100_000 : 200_000;
        double value = 0, baseline = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var schema = $"bench_{Guid.NewGuid():N}";
            try
            {
                await using (var log = new PostgresCommandLog(Options.Create(new PostgresLogOptions { ConnectionString = connectionString, Schema = schema })))
                {
                    await log.InitializeAsync(default);
                    baseline = Math.Max(baseline, await RawCopyAsync(connectionString, schema, commands));
                    value = Math.Max(value, await MeasureMasterAsync(log, commands));
                }
            }
            finally
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync();
                await using var drop = new NpgsqlCommand($"DROP SCHEMA \"{schema}\" CASCADE", connection);
                await drop.ExecuteNonQueryAsync();
            }
        }
        return new BenchResult("append-postgres", value, "commands/s", baseline);
    }

    public static async Task<BenchResult> SqliteAsync(bool quick)
    {
        var commands = quick ? 100_000 : 200_000;
        double value = 0, baseline = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
            try
            {
                baseline = Math.Max(baseline, RawSqliteInserts(Path.Combine(directory.FullName, "raw.db"), commands));
                using var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = Path.Combine(directory.FullName, "log.db") }));
                await log.InitializeAsync(default);
                value = Math.Max(value, await MeasureMasterAsync(log, commands));
            }
            finally
            {
                SqliteConnection.ClearAllPools();
                directory.Delete(recursive: true);
            }
        }
        return new BenchResult("append-sqlite", value, "commands/s", baseline);
    }

    private static Command Item(int i) => new() { Op = CommandOp.Create, Path = "/items/-", Value = new JsonObject { ["n"] = i, ["title"] = $"item {i}", ["done"] = false } };

    private static async Task<double> MeasureMasterAsync(ICommandLog log, int commands)
    {
        var types = new ModelTypeRegistry([new ModelType("bench-list", [])]);
        using var master = new MasterModel(log, types, Options.Create(new MasterOptions()), TimeProvider.System, NullLogger<MasterModel>.Instance);
        var versions = new long[Models];
        await Parallel.ForEachAsync(Enumerable.Range(0, Models), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (m, ct) =>
        {
            var created = await master.FlushAsync(new FlushRequest(new ModelKey("bench-list", $"m{m}"), 0,
                [new Command { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["items"] = new JsonArray() } }]), ct);
            versions[m] = created.Version;
        });

        var flushes = commands / CommandsPerFlush;
        var batch = Enumerable.Range(0, CommandsPerFlush).Select(Item).ToList();
        var clock = Stopwatch.StartNew();
        // Each client owns the models m ≡ client (mod Clients), so its base versions stay exact.
        await Parallel.ForEachAsync(Enumerable.Range(0, Clients), new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (client, ct) =>
        {
            for (var f = client; f < flushes; f += Clients)
            {
                var m = f % Models;
                var result = await master.FlushAsync(new FlushRequest(new ModelKey("bench-list", $"m{m}"), versions[m], batch), ct);
                versions[m] = result.Version;
            }
        });
        var rate = flushes * CommandsPerFlush / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"master: {flushes} flushes of {CommandsPerFlush} commands in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} commands/s");
        return rate;
    }

    private static async Task<double> RawCopyAsync(string connectionString, string schema, int rows)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand($"""
            CREATE TABLE "{schema}".raw_copy (position bigint PRIMARY KEY, model_type text NOT NULL, model_id text NOT NULL,
                version bigint NOT NULL, command jsonb NOT NULL, ts timestamptz NOT NULL, UNIQUE (model_type, model_id, version))
            """, connection))
        {
            await create.ExecuteNonQueryAsync();
        }
        var json = Enumerable.Range(0, CommandsPerFlush).Select(i => CommandJson.Serialize(Item(i))).ToArray();
        var now = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        await using (var writer = await connection.BeginBinaryImportAsync(
            $"COPY \"{schema}\".raw_copy (position, model_type, model_id, version, command, ts) FROM STDIN (FORMAT BINARY)"))
        {
            // Synchronous field writes, as the store makes them: the baseline must be the fastest raw
            // way, or the ratio flatters the store (awaiting each field cost a fifth of the rate).
            for (var p = 0; p < rows; p++)
            {
                writer.StartRow();
                writer.Write((long)p + 1, NpgsqlDbType.Bigint);
                writer.Write("bench-list", NpgsqlDbType.Text);
                writer.Write($"m{p / CommandsPerFlush % Models}", NpgsqlDbType.Text);
                writer.Write((long)p + 1, NpgsqlDbType.Bigint);
                writer.Write(json[p % CommandsPerFlush], NpgsqlDbType.Jsonb);
                writer.Write(now, NpgsqlDbType.TimestampTz);
            }
            await writer.CompleteAsync();
        }
        var rate = rows / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"raw binary COPY: {rows} rows in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} rows/s");
        return rate;
    }

    private static double RawSqliteInserts(string path, int rows)
    {
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                CREATE TABLE raw_insert (position INTEGER PRIMARY KEY, model_type TEXT NOT NULL, model_id TEXT NOT NULL,
                    version INTEGER NOT NULL, command TEXT NOT NULL, ts_ms INTEGER NOT NULL, UNIQUE (model_type, model_id, version));
                """;
            setup.ExecuteNonQuery();
        }
        var json = Enumerable.Range(0, CommandsPerFlush).Select(i => CommandJson.Serialize(Item(i))).ToArray();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        using (var transaction = connection.BeginTransaction())
        using (var insert = connection.CreateCommand())
        {
            insert.CommandText = "INSERT INTO raw_insert VALUES ($p, $t, $i, $v, $c, $ts)";
            var p = insert.Parameters.Add("$p", SqliteType.Integer);
            var t = insert.Parameters.Add("$t", SqliteType.Text);
            var id = insert.Parameters.Add("$i", SqliteType.Text);
            var v = insert.Parameters.Add("$v", SqliteType.Integer);
            var c = insert.Parameters.Add("$c", SqliteType.Text);
            var ts = insert.Parameters.Add("$ts", SqliteType.Integer);
            insert.Prepare();
            for (var row = 0; row < rows; row++)
            {
                p.Value = row + 1;
                t.Value = "bench-list";
                id.Value = $"m{row / CommandsPerFlush % Models}";
                v.Value = row + 1;
                c.Value = json[row % CommandsPerFlush];
                ts.Value = now;
                insert.ExecuteNonQuery();
            }
            transaction.Commit();
        }
        var rate = rows / clock.Elapsed.TotalSeconds;
        Console.WriteLine($"raw SQLite inserts: {rows} rows in {clock.Elapsed.TotalSeconds:0.00} s = {rate:0} rows/s");
        return rate;
    }
}

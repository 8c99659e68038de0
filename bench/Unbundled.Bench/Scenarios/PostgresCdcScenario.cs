using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;
using Unbundled.Connectors.Postgres;
using Unbundled.Connectors.Redis;
using Unbundled.Hosting;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// <c>pg-cdc</c>: a backlog of committed INSERTs and UPDATEs streamed from a replication slot into a Redis
/// view, rows/s, against <c>pg_recvlogical</c> decoding the same changes from a slot of its own to
/// /dev/null. <c>pg-snapshot</c>: the initial snapshot of a table into Redis, rows/s, against
/// <c>COPY … TO STDOUT</c> of the same table. Both print the process's peak RSS while the pipeline runs.
/// </summary>
internal static class PostgresCdcScenario
{
    private const string RecvLogical = "/usr/lib/postgresql/15/bin/pg_recvlogical";

    public static async Task<BenchResult> CdcAsync(bool quick)
    {
        var rows = quick ? 50_000 : 200_000;
        await using var bench = await BenchDatabase.CreateAsync();
        await bench.ExecuteAsync("create table orders (id int primary key, status text not null, total numeric(10,2) not null)");
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var prefix = $"bench-{Guid.NewGuid():N}:";

        // Slots first (ours by a first start that snapshots the empty table, pg_recvlogical's own), then the backlog.
        await using (var first = await PipelineHost.StartAsync(bench, redis, prefix))
            await first.WaitCaughtUpAsync();
        var publication = PublicationOf(bench.Schema);
        await bench.RunAsync(RecvLogical, $"--slot={bench.Schema}_recv --create-slot -P pgoutput");
        var clock = Stopwatch.StartNew();
        for (var start = 1; start <= rows; start += 1000)
            await bench.ExecuteAsync($"insert into orders select g, 'new', g from generate_series({start}, {Math.Min(rows, start + 999)}) g");
        for (var start = 1; start <= rows; start += 1000)
            await bench.ExecuteAsync($"update orders set status = 'paid', total = total + 1 where id between {start} and {start + 999}");
        await bench.ExecuteAsync("insert into orders values (0, 'end', 0)");
        var end = await bench.ScalarAsync("select pg_current_wal_lsn()::text");
        Console.WriteLine($"{2 * rows + 1} changes committed in {clock.Elapsed.TotalSeconds:0.0} s");

        await using var cpu = await CpuPerRow.StartAsync(redis);
        await using var host = await PipelineHost.StartAsync(bench, redis, prefix);
        var (elapsed, peak) = await host.TimeUntilAsync(async () => (await host.Redis.StringGetAsync($"{prefix}order:0")).HasValue);
        var value = (2.0 * rows + 1) / elapsed.TotalSeconds;
        Console.WriteLine($"pipeline: {2 * rows + 1} changes from the slot into Redis in {elapsed.TotalSeconds:0.00} s = {value:0} rows/s; peak RSS {peak / (1024 * 1024)} MB");
        await cpu.ReportAsync(2 * rows + 1);

        var decode = Stopwatch.StartNew();
        await bench.RunAsync(RecvLogical, $"--slot={bench.Schema}_recv --start -f /dev/null -E {end} -o proto_version=1 -o publication_names={publication} --no-loop");
        var baseline = (2.0 * rows + 1) / decode.Elapsed.TotalSeconds;
        Console.WriteLine($"pg_recvlogical: the same changes to /dev/null in {decode.Elapsed.TotalSeconds:0.00} s = {baseline:0} rows/s");
        await bench.ScalarAsync($"select pg_drop_replication_slot('{bench.Schema}_recv')::text");
        await RedisKeys.DeletePrefixAsync(redis, prefix);
        return new BenchResult("pg-cdc", value, "rows/s", baseline);
    }

    public static async Task<BenchResult> SnapshotAsync(bool quick)
    {
        var rows = quick ? 200_000 : 1_000_000;
        await using var bench = await BenchDatabase.CreateAsync();
        await bench.ExecuteAsync("create table orders (id int primary key, status text not null, total numeric(10,2) not null, customer text not null)");
        await bench.ExecuteAsync($"insert into orders select g, 'new', g % 1000, 'customer ' || (g % 5000) from generate_series(1, {rows}) g");
        await bench.ExecuteAsync("vacuum analyze orders");
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var prefix = $"bench-{Guid.NewGuid():N}:";

        var copy = Stopwatch.StartNew();
        await using (var connection = await bench.Database.OpenConnectionAsync())
        using (var reader = await connection.BeginTextExportAsync($"copy \"{bench.Schema}\".orders to stdout"))
            while (await reader.ReadLineAsync() is not null) { }
        var baseline = rows / copy.Elapsed.TotalSeconds;
        Console.WriteLine($"COPY TO STDOUT: {rows} rows in {copy.Elapsed.TotalSeconds:0.00} s = {baseline:0} rows/s");

        await using var cpu = await CpuPerRow.StartAsync(redis);
        await using var host = await PipelineHost.StartAsync(bench, redis, prefix);
        var (elapsed, peak) = await host.TimeUntilAsync(() => Task.FromResult(host.Progress.State == PipelineState.Running && host.Progress.Offset > 0));
        var value = rows / elapsed.TotalSeconds;
        Console.WriteLine($"pipeline: snapshot of {rows} rows into Redis in {elapsed.TotalSeconds:0.00} s = {value:0} rows/s; peak RSS {peak / (1024 * 1024)} MB");
        await cpu.ReportAsync(rows);
        await RedisKeys.DeletePrefixAsync(redis, prefix);
        return new BenchResult("pg-snapshot", value, "rows/s", baseline);
    }

    private static string PublicationOf(string schema) => $"unbundled_{schema}";

    /// <summary>A schema of the bench's own in the local PostgreSQL, dropped with its slots at the end.</summary>
    private sealed class BenchDatabase : IAsyncDisposable
    {
        public required string ConnectionString { get; init; }
        public required NpgsqlDataSource Database { get; init; }
        public string Schema { get; } = $"bench_{Guid.NewGuid():N}"[..20];

        public static async Task<BenchDatabase> CreateAsync()
        {
            var connection = await LocalServices.GetAsync("UNBUNDLED_POSTGRES");
            var bench = new BenchDatabase { ConnectionString = connection, Database = NpgsqlDataSource.Create(connection) };
            await bench.ExecuteAsync($"create schema {bench.Schema}");
            return bench;
        }

        public async Task ExecuteAsync(string sql)
        {
            await using var connection = await Database.OpenConnectionAsync();
            await using (var path = new NpgsqlCommand($"set search_path to {Schema}", connection)) await path.ExecuteNonQueryAsync();
            await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
            await command.ExecuteNonQueryAsync();
        }

        public async Task<string> ScalarAsync(string sql)
        {
            await using var command = Database.CreateCommand(sql);
            return (string)(await command.ExecuteScalarAsync())!;
        }

        /// <summary>Runs a PostgreSQL client tool against the database and waits for it.</summary>
        public async Task RunAsync(string tool, string arguments)
        {
            var settings = new NpgsqlConnectionStringBuilder(ConnectionString);
            var start = new ProcessStartInfo(tool, $"-h {settings.Host} -p {settings.Port} -U {settings.Username} -d {settings.Database} {arguments}") { RedirectStandardError = true };
            start.Environment["PGPASSWORD"] = settings.Password;
            using var process = Process.Start(start)!;
            var errors = await process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {arguments}: exit {process.ExitCode}: {errors}");
        }

        public async ValueTask DisposeAsync()
        {
            await using (var slots = Database.CreateCommand($"select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like '%{Schema}%' and not active"))
                await slots.ExecuteNonQueryAsync();
            await ExecuteAsync($"drop publication if exists unbundled_{Schema}");
            await ExecuteAsync($"drop schema {Schema} cascade");
            await Database.DisposeAsync();
        }
    }

    /// <summary>A host running the one pipeline <c>postgres → redis</c>, named after the bench's schema.</summary>
    private sealed class PipelineHost : IAsyncDisposable
    {
        private readonly IHost _host;
        private readonly ConnectionMultiplexer _redis;

        private PipelineHost(IHost host, ConnectionMultiplexer redis, PipelineProgress progress) => (_host, _redis, Progress) = (host, redis, progress);

        public PipelineProgress Progress { get; }
        public IDatabase Redis => _redis.GetDatabase();

        public static async Task<PipelineHost> StartAsync(BenchDatabase bench, string redis, string prefix)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
            var unbundled = builder.Services.AddUnbundled().UseSqliteLog(options => options.Path = Path.Combine(directory.FullName, "log.db"));
            builder.Services.AddRedisCacheSink(defaults => defaults.Connection = redis).AddPostgresSource();
            var at = new SourceSpan("bench", 1, 1);
            unbundled.AddPipeline(new PipelineDefinition(bench.Schema,
                new SourceDefinition(bench.Schema, unbundled.Connectors.Sources[PostgresSourceFactory.ConnectorName],
                    new PostgresSourceOptions { Connection = bench.ConnectionString, Tables = [$"{bench.Schema}.orders"], Heartbeat = TimeSpan.Zero }, at),
                null,
                new SelectProjection("order:{key}", [new SelectField("status", new PathValue("after.status")), new SelectField("total", new PathValue("after.total"))]),
                new SinkDefinition("sink", unbundled.Connectors.Sinks[RedisCacheSinkFactory.ConnectorName], new RedisCacheOptions { Prefix = prefix }, at),
                ErrorPolicy.DeadLetter, new BatchOptions(1000), "bench", at));
            var host = builder.Build();
            await host.StartAsync();
            host.Services.GetRequiredService<PipelineMonitor>().TryGet(bench.Schema, out var progress);
            return new PipelineHost(host, await ConnectionMultiplexer.ConnectAsync(redis), progress!);
        }

        public async Task WaitCaughtUpAsync()
        {
            while (!(Progress.State == PipelineState.Running && Progress.Offset > 0)) await Task.Delay(20);
        }

        /// <summary>Time from the pipeline's first progress until <paramref name="done"/>, and the peak RSS meanwhile.</summary>
        public async Task<(TimeSpan Elapsed, long PeakRss)> TimeUntilAsync(Func<Task<bool>> done)
        {
            while (Progress.Offset == 0 && !await done()) await Task.Delay(1);
            var clock = Stopwatch.StartNew();
            long peak = 0;
            var sampled = 0L;
            while (!await done())
            {
                // The working set is read every 100 ms: reading it every poll cost the pipeline 5% of its CPU.
                if (clock.ElapsedMilliseconds - sampled >= 100) (peak, sampled) = (Math.Max(peak, Environment.WorkingSet), clock.ElapsedMilliseconds);
                await Task.Delay(5);
            }
            return (clock.Elapsed, Math.Max(peak, Environment.WorkingSet));
        }

        public async ValueTask DisposeAsync()
        {
            await _host.StopAsync();
            _host.Dispose();
            await _redis.DisposeAsync();
        }
    }
}

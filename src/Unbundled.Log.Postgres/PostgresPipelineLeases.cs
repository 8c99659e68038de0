using Medallion.Threading.Postgres;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Pipelines.Leases;

namespace Unbundled.Log.Postgres;

/// <summary>
/// Pipeline leases as PostgreSQL advisory locks in the log's database (DistributedLock.Postgres): a lock
/// lives as long as the session holding it, so a killed instance's pipelines are free the moment its
/// connections drop, with no expiry to wait out and no clock to trust. Each holder records itself in
/// <c>pipeline_owners</c> so that any instance's status can say who runs what.
/// </summary>
public sealed class PostgresPipelineLeases(IOptions<PostgresLogOptions> options, IOptions<PipelineLeaseOptions> leaseOptions, ILogger<PostgresPipelineLeases> logger) : IPipelineLeases
{
    // The lock's session sits in DistributedLock's long pg_sleep that watches for a lost handle; a backend busy in
    // a query never reads its socket, so without a connection check a SIGKILLed instance kept its leases until the
    // sleep ended (minutes, and a restarted instance stood by all that time). The check (PostgreSQL 14+) and server
    // keepalives (for a vanished host) end the dead session, and with it the lock, within seconds.
    private readonly string _connection = WatchedConnection(options.Value.ConnectionString);
    private readonly string _schema = options.Value.Schema;
    private int _tableReady;

    /// <summary>The table of who holds which lease, beside the log's own tables.</summary>
    private string Owners => $"\"{_schema}\".pipeline_owners";

    /// <inheritdoc />
    public string Instance { get; } = leaseOptions.Value.Instance ?? $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <inheritdoc />
    public async Task<IPipelineLease> AcquireAsync(string pipeline, Action<string?> waiting, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var mutex = new PostgresDistributedLock(new PostgresAdvisoryLockKey($"unbundled.pipeline.{_schema}.{pipeline}", allowHashing: true), _connection,
            o => o.KeepaliveCadence(TimeSpan.FromSeconds(5)));
        while (true)
        {
            if (await mutex.TryAcquireAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false) is { } handle)
            {
                await RecordAsync(pipeline, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Instance {Instance} took the lease of pipeline {Pipeline}", Instance, pipeline);
                return new Lease(handle);
            }
            waiting(await OwnerAsync(pipeline, cancellationToken).ConfigureAwait(false));
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    private static string WatchedConnection(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { ApplicationName = "unbundled-lease" };
        builder.Options = $"{builder.Options} -c client_connection_check_interval=1000 -c tcp_keepalives_idle=10 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3".Trim();
        return builder.ConnectionString;
    }

    private sealed class Lease(PostgresDistributedLockHandle handle) : IPipelineLease
    {
        public CancellationToken Lost => handle.HandleLostToken;

        public ValueTask DisposeAsync() => handle.DisposeAsync();
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _tableReady) == 1) return;
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var create = new NpgsqlCommand($"create table if not exists {Owners} (pipeline text primary key, instance text not null, since timestamptz not null)", connection);
        try { await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false); }
        catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject)
        {
            // Two instances created it at once; it is there.
        }
        Volatile.Write(ref _tableReady, 1);
    }

    private async Task RecordAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var upsert = new NpgsqlCommand($"""
            insert into {Owners} (pipeline, instance, since) values ($1, $2, now())
            on conflict (pipeline) do update set instance = excluded.instance, since = excluded.since
            """, connection);
        upsert.Parameters.Add(new() { Value = pipeline });
        upsert.Parameters.Add(new() { Value = Instance });
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string?> OwnerAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_connection);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var query = new NpgsqlCommand($"select instance from {Owners} where pipeline = $1", connection);
        query.Parameters.Add(new() { Value = pipeline });
        return await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }
}

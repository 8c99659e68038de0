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
    // Named after the instance, so that pg_stat_activity says whose lease a session holds (PostgreSQL keeps 63 bytes of it).
    private readonly string _plain = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString)
    {
        ApplicationName = $"unbundled-lease:{InstanceOf(leaseOptions.Value)}" is var name && name.Length > 63 ? name[..63] : name,
    }.ConnectionString;
    private string? _watched;
    private readonly string _schema = options.Value.Schema;
    private int _tableReady;

    /// <summary>The table of who holds which lease, beside the log's own tables.</summary>
    private string Owners => $"\"{_schema}\".pipeline_owners";

    /// <inheritdoc />
    public string Instance { get; } = InstanceOf(leaseOptions.Value);

    private static string InstanceOf(PipelineLeaseOptions options) => options.Instance ?? $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <inheritdoc />
    public async Task<IPipelineLease> AcquireAsync(string pipeline, Action<string?> waiting, CancellationToken cancellationToken)
    {
        await EnsureTableAsync(cancellationToken).ConfigureAwait(false);
        var mutex = new PostgresDistributedLock(new PostgresAdvisoryLockKey($"unbundled.pipeline.{_schema}.{pipeline}", allowHashing: true), _watched!,
            o => o.KeepaliveCadence(TimeSpan.FromSeconds(5)));
        while (true)
        {
            if (await mutex.TryAcquireAsync(TimeSpan.Zero, cancellationToken).ConfigureAwait(false) is { } handle)
            {
                long fence;
                try
                {
                    fence = await RecordAsync(pipeline, cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    // A lease without its token would be held until the process ends: it is given back.
                    await handle.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
                logger.LogInformation("Instance {Instance} took the lease of pipeline {Pipeline} (fencing token {Fence})", Instance, pipeline, fence);
                return new Lease(handle, fence);
            }
            waiting(await OwnerAsync(pipeline, cancellationToken).ConfigureAwait(false));
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The lock's connection. Its session sits in DistributedLock's long pg_sleep that watches for a lost handle, and a
    /// backend busy in a query never reads its socket: without a check a SIGKILLed instance kept its leases until the
    /// sleep ended (minutes, a restarted instance standing by all that time). The server ends a dead client's session,
    /// and so frees the lock, after ~26 s of failed keepalives (or at once, on 14+, when the socket closed); the client
    /// gives up on a silent server after ~14 s (5 s idle, 9 probes 1 s apart, Linux's default count), so an owner cut
    /// off from the database stops writing before another instance can take its pipelines over.
    /// </summary>
    private static string WatchedConnection(string connectionString, int serverVersion)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { TcpKeepAlive = true, TcpKeepAliveTime = 5, TcpKeepAliveInterval = 1 };
        var check = serverVersion >= 140000 ? "-c client_connection_check_interval=1000 " : "";
        builder.Options = $"{builder.Options} {check}-c tcp_keepalives_idle=20 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3".Trim();
        return builder.ConnectionString;
    }

    private sealed class Lease(PostgresDistributedLockHandle handle, long fence) : IPipelineLease
    {
        public CancellationToken Lost => handle.HandleLostToken;

        public long Fence => fence;

        public ValueTask DisposeAsync() => handle.DisposeAsync();
    }

    private async Task EnsureTableAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _tableReady) == 1) return;
        await using var connection = new NpgsqlConnection(_plain);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        // client_connection_check_interval is refused at connect before PostgreSQL 14.
        _watched = WatchedConnection(_plain, connection.PostgreSqlVersion.Major * 10000);
        // The fencing token counts the lease's acquisitions; a table from before it gains the column.
        await using var create = new NpgsqlCommand($"""
            create table if not exists {Owners} (pipeline text primary key, instance text not null, since timestamptz not null, fence bigint not null default 0);
            alter table {Owners} add column if not exists fence bigint not null default 0
            """, connection);
        try { await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false); }
        catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject)
        {
            // Two instances created it at once; it is there.
        }
        Volatile.Write(ref _tableReady, 1);
    }

    /// <summary>
    /// Records this instance as the owner, under the lease's next fencing token, and answers the token. The token passes
    /// every one the pipeline's state rows were written under: were the owners' row deleted (an operator resetting who
    /// runs what), counting from 1 again would have the rightful owner refused once per token until it caught up.
    /// </summary>
    private async Task<long> RecordAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_plain);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        var stored = await HighestStoredFenceAsync(connection, pipeline, cancellationToken).ConfigureAwait(false);
        await using var upsert = new NpgsqlCommand($"""
            insert into {Owners} (pipeline, instance, since, fence) values ($1, $2, now(), $3 + 1)
            on conflict (pipeline) do update set instance = excluded.instance, since = excluded.since, fence = greatest({Owners}.fence, $3) + 1
            returning fence
            """, connection);
        upsert.Parameters.Add(new() { Value = pipeline });
        upsert.Parameters.Add(new() { Value = Instance });
        upsert.Parameters.Add(new() { Value = stored });
        return (long)(await upsert.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>The highest lease token the pipeline's offset and generation rows hold (0 before the state store made them).</summary>
    private async Task<long> HighestStoredFenceAsync(NpgsqlConnection connection, string pipeline, CancellationToken cancellationToken)
    {
        await using var query = new NpgsqlCommand($"""
            select coalesce(max(fence), 0)::bigint from (
                select fence from "{_schema}".pipeline_generations where pipeline = $1
                union all select fence from "{_schema}".pipeline_offsets where pipeline = $1 or starts_with(pipeline, $1 || '#generation-')) stored
            """, connection);
        query.Parameters.Add(new() { Value = pipeline });
        try { return (long)(await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!; }
        catch (PostgresException error) when (error.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn)
        {
            return 0;
        }
    }

    private async Task<string?> OwnerAsync(string pipeline, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(_plain);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var query = new NpgsqlCommand($"select instance from {Owners} where pipeline = $1", connection);
        query.Parameters.Add(new() { Value = pipeline });
        return await query.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }
}

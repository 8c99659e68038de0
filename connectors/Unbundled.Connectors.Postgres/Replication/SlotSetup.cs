using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;
using Npgsql.Replication;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Snapshot;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>What a source found or made at start: the slot's consistent point, and the exported snapshot when the slot is new.</summary>
internal sealed record SlotState(ulong ConsistentPoint, NpgsqlTransaction? ExportedSnapshot, bool Created);

/// <summary>
/// Creates what a source owns in the database: its publication (<c>unbundled_&lt;source&gt;</c>, kept to the
/// captured tables) and one logical replication slot per pipeline generation
/// (<c>unbundled_&lt;pipeline&gt;_g&lt;generation&gt;</c>), so that a slow pipeline holds back only its own WAL
/// and a rebuild reads beside the live view. A new slot exports its snapshot for the first snapshot pass. A
/// slot that vanished or was invalidated (<c>wal_status = lost</c>) is said loudly and replaced, and the
/// view is snapshotted again rather than silently missing what the lost slot held.
/// </summary>
internal static class SlotSetup
{
    /// <summary>A valid slot or publication name (lower case, [a-z0-9_], at most 63 bytes) for <paramref name="parts"/>.</summary>
    public static string NameOf(params string[] parts)
    {
        var joined = string.Join('_', parts).ToLowerInvariant();
        var name = new string(joined.Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        if (name.Length <= 63) return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(joined)))[..8];
        return $"{name[..54]}_{hash}";
    }

    /// <summary>Creates the publication when missing, and keeps one this source named after itself to exactly its tables.</summary>
    public static async Task EnsurePublicationAsync(NpgsqlDataSource database, string publication, bool owned, IReadOnlyList<CapturedTable> tables, CancellationToken cancellationToken)
    {
        var list = string.Join(", ", tables.Select(t => t.Quoted));
        await using var exists = database.CreateCommand("select count(*) from pg_publication where pubname = $1");
        exists.Parameters.Add(new() { Value = publication });
        var found = (long)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! > 0;
        if (found && !owned) return;
        var sql = found ? $"alter publication {Sql.Identifier(publication)} set table {list}" : $"create publication {Sql.Identifier(publication)} for table {list}";
        try
        {
            await using var command = database.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException race) when (race.SqlState == PostgresErrorCodes.DuplicateObject)
        {
        }
    }

    /// <summary>Finds the slot, or creates it (again) with an exported snapshot imported into a transaction of its own.</summary>
    public static async Task<SlotState> EnsureSlotAsync(NpgsqlDataSource database, string connectionString, string slot, SnapshotCheckpoints checkpoints,
        bool snapshot, ILogger logger, CancellationToken cancellationToken)
    {
        var recorded = await checkpoints.ConsistentPointAsync(cancellationToken).ConfigureAwait(false);
        var status = await StatusAsync(database, slot, cancellationToken).ConfigureAwait(false);
        if (status is not null && status != "lost" && recorded is { } point) return new SlotState(point, null, Created: false);
        if (status == "lost" || (status is null && recorded is not null))
            logger.LogError("Replication slot {Slot} was {What}: the changes it held are gone; a new slot is made and its view is snapshotted again (rows deleted meanwhile stay until the view is rebuilt)",
                slot, status == "lost" ? "invalidated by max_slot_wal_keep_size" : "dropped");
        if (status is not null) await DropSlotAsync(database, slot, cancellationToken).ConfigureAwait(false);

        await using var replication = new LogicalReplicationConnection(connectionString);
        await replication.Open(cancellationToken).ConfigureAwait(false);
        var created = await replication.CreatePgOutputReplicationSlot(slot, slotSnapshotInitMode: snapshot ? LogicalSlotSnapshotInitMode.Export : LogicalSlotSnapshotInitMode.NoExport,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        NpgsqlTransaction? exported = null;
        if (snapshot && created.SnapshotName is { } name)
        {
            // The exported snapshot lives until the replication connection's next command: import it now.
            var connection = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            exported = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
            await using var import = new NpgsqlCommand($"set transaction snapshot {Sql.Literal(name)}", connection, exported);
            await import.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        var consistent = (ulong)created.ConsistentPoint;
        await checkpoints.StartAsync(consistent, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("Created replication slot {Slot} at {Lsn}", slot, ChangeOffsets.Lsn(consistent));
        return new SlotState(consistent, exported, Created: true);
    }

    /// <summary>The slot's <c>wal_status</c> (<c>reserved</c> when PostgreSQL gives none); null when there is no such slot.</summary>
    public static async Task<string?> StatusAsync(NpgsqlDataSource database, string slot, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("select coalesce(wal_status, 'reserved') from pg_replication_slots where slot_name = $1");
        command.Parameters.Add(new() { Value = slot });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    /// <summary>Drops the slot if it exists.</summary>
    public static async Task DropSlotAsync(NpgsqlDataSource database, string slot, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1");
        command.Parameters.Add(new() { Value = slot });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

using Npgsql;
using Unbundled.Connectors.Postgres.Catalog;

namespace Unbundled.Connectors.Postgres.Snapshot;

/// <summary>Where a snapshot resumes: the row with offset <paramref name="Start"/> is the first of <paramref name="Table"/> after <paramref name="AfterKey"/> (null: its first row).</summary>
internal sealed record SnapshotCheckpoint(long Start, int Table, string[]? AfterKey);

/// <summary>
/// What a source keeps beside its slot, in tables of its own schema in the captured database: the slot's
/// consistent point (the version of every snapshot row), and checkpoints through the snapshot, so that a
/// crash mid-snapshot resumes at the last checkpoint rather than from the first row.
/// </summary>
internal sealed class SnapshotCheckpoints(NpgsqlDataSource database, string schema, string slot)
{
    private string Slots => $"{Sql.Identifier(schema)}.cdc_slots";
    private string Chunks => $"{Sql.Identifier(schema)}.cdc_snapshot_checkpoints";
    private string Tables => $"{Sql.Identifier(schema)}.cdc_tables";

    /// <summary>Creates the schema and tables when missing.</summary>
    public async Task CreateAsync(CancellationToken cancellationToken)
    {
        var sql = $"""
            create schema if not exists {Sql.Identifier(schema)};
            create table if not exists {Slots} (slot text primary key, consistent_lsn pg_lsn not null, created_at timestamptz not null default now());
            create table if not exists {Chunks} (slot text not null, start_offset bigint not null, table_index int not null, after_key text[], primary key (slot, start_offset));
            create table if not exists {Tables} (slot text not null, table_name text not null, after_key text[], done boolean not null, primary key (slot, table_name));
            """;
        try
        {
            await using var command = database.CreateCommand(sql);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        // Two sources starting at once may both create: the loser finds what the winner made.
        catch (PostgresException race) when (race.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.DuplicateTable)
        {
        }
    }

    /// <summary>The consistent point recorded for the slot; null when none is.</summary>
    public async Task<ulong?> ConsistentPointAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"select consistent_lsn::text from {Slots} where slot = $1");
        command.Parameters.Add(new() { Value = slot });
        return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string lsn ? (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(lsn) : null;
    }

    /// <summary>Records a new slot's consistent point, forgetting any earlier snapshot of the slot's name.</summary>
    public async Task StartAsync(ulong consistentPoint, CancellationToken cancellationToken)
    {
        await ForgetAsync(cancellationToken).ConfigureAwait(false);
        await using var command = database.CreateCommand($"insert into {Slots} (slot, consistent_lsn) values ($1, $2::text::pg_lsn)");
        command.Parameters.Add(new() { Value = slot });
        command.Parameters.Add(new() { Value = ChangeOffsets.Lsn(consistentPoint) });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The checkpoint at or before <paramref name="offset"/>; null when there is none (read from the first table's first row).</summary>
    public async Task<SnapshotCheckpoint?> AtOrBeforeAsync(long offset, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"select start_offset, table_index, after_key from {Chunks} where slot = $1 and start_offset <= $2 order by start_offset desc limit 1");
        command.Parameters.Add(new() { Value = slot });
        command.Parameters.Add(new() { Value = offset });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new SnapshotCheckpoint(reader.GetInt64(0), reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetFieldValue<string[]>(2))
            : null;
    }

    /// <summary>Saves <paramref name="checkpoint"/>, dropping the checkpoints past it (a resumed snapshot numbers its rows anew from there).</summary>
    public async Task SaveAsync(SnapshotCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {Chunks} where slot = $1 and start_offset >= $2") { Parameters = { new() { Value = slot }, new() { Value = checkpoint.Start } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"insert into {Chunks} (slot, start_offset, table_index, after_key) values ($1, $2, $3, $4)")
        {
            Parameters = { new() { Value = slot }, new() { Value = checkpoint.Start }, new() { Value = checkpoint.Table }, new() { Value = (object?)checkpoint.AfterKey ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text } },
        });
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Forgets the slot and its checkpoints.</summary>
    public async Task ForgetAsync(CancellationToken cancellationToken)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {Slots} where slot = $1") { Parameters = { new() { Value = slot } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {Chunks} where slot = $1") { Parameters = { new() { Value = slot } } });
        batch.BatchCommands.Add(new NpgsqlBatchCommand($"delete from {Tables} where slot = $1") { Parameters = { new() { Value = slot } } });
        await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The tables the slot's view has, or is still to have, the rows of: <paramref name="tables"/> not yet known are
    /// added as <paramref name="done"/> (true when the slot's own snapshot covers them, false for a table added to a
    /// running source, which a watermarked snapshot then reads). Returns those not done, with where they stand.
    /// </summary>
    public async Task<IReadOnlyList<(string Table, string[]? AfterKey)>> TablesAsync(IEnumerable<string> tables, bool done, CancellationToken cancellationToken)
    {
        await using (var add = database.CreateCommand($"insert into {Tables} (slot, table_name, done) select $1, unnest($2::text[]), $3 on conflict do nothing"))
        {
            add.Parameters.Add(new() { Value = slot });
            add.Parameters.Add(new() { Value = tables.ToArray() });
            add.Parameters.Add(new() { Value = done });
            await add.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using var pending = database.CreateCommand($"select table_name, after_key from {Tables} where slot = $1 and not done order by table_name");
        pending.Parameters.Add(new() { Value = slot });
        var left = new List<(string, string[]?)>();
        await using var reader = await pending.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            left.Add((reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<string[]>(1)));
        return left;
    }

    /// <summary>Saves how far the watermarked snapshot of <paramref name="table"/> has come.</summary>
    public async Task AdvanceTableAsync(string table, string[]? afterKey, bool done, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"update {Tables} set after_key = $3, done = $4 where slot = $1 and table_name = $2");
        command.Parameters.Add(new() { Value = slot });
        command.Parameters.Add(new() { Value = table });
        command.Parameters.Add(new() { Value = (object?)afterKey ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = done });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}

using Npgsql;
using Unbundled.Sdk;

namespace Unbundled.Connectors.Postgres.Catalog;

/// <summary>
/// Finds the tables a source names and checks, before anything streams, that each can be captured: it
/// exists, and its rows have a key (a primary key, or key columns under REPLICA IDENTITY FULL). A table
/// that fails is refused at start with what to do, because PostgreSQL would otherwise refuse the
/// application's own UPDATEs and DELETEs on a published table without a replica identity.
/// </summary>
internal static class TableCatalog
{
    private const string Describe = """
        select n.nspname, c.relname, c.relreplident,
               coalesce((select array_agg(a.attname order by k.ord)
                         from pg_index i cross join lateral unnest(i.indkey::int2[]) with ordinality k(attnum, ord)
                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                         where i.indrelid = c.oid and i.indisprimary), '{}') as pk,
               array(select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as names,
               array(select a.atttypid from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as types,
               array(select format_type(a.atttypid, a.atttypmod) from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped order by a.attnum) as sqltypes,
               array(select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attnotnull) as notnull,
               coalesce((select array_agg(a.attname)
                         from pg_index i cross join lateral unnest(i.indkey::int2[]) k(attnum)
                         join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                         where i.indrelid = c.oid and i.indisreplident), '{}') as identity
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname = $1 and c.relname = $2
        """;

    /// <summary>The tables <paramref name="options"/> name, checked; throws with every problem found.</summary>
    public static async Task<IReadOnlyList<CapturedTable>> ResolveAsync(NpgsqlDataSource database, PostgresSourceOptions options, CancellationToken cancellationToken)
    {
        var names = options.Tables.Count > 0 ? options.Tables.Select(Split).ToList() : await SchemaTablesAsync(database, options, cancellationToken).ConfigureAwait(false);
        var tables = new List<CapturedTable>();
        var problems = new List<string>();
        foreach (var (schema, name) in names)
        {
            var table = await DescribeAsync(database, schema, name, options, cancellationToken).ConfigureAwait(false);
            if (table is null) problems.Add($"table {schema}.{name} does not exist");
            else if (Refusal(table, options) is { } refusal) problems.Add(refusal);
            else tables.Add(table);
        }
        if (problems.Count > 0) throw new ConnectorRefusedException("The postgres source cannot capture: " + string.Join("; ", problems));
        if (tables.Count == 0) throw new ConnectorRefusedException($"The postgres source has no table to capture: schema '{options.Schema}' has none left after 'exclude'");
        return tables;
    }

    /// <summary>The table now (its columns may have changed since the source started).</summary>
    public static async Task<CapturedTable?> DescribeAsync(NpgsqlDataSource database, string schema, string name, PostgresSourceOptions options, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(Describe);
        command.Parameters.Add(new() { Value = schema });
        command.Parameters.Add(new() { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        var columnNames = reader.GetFieldValue<string[]>(4);
        var types = reader.GetFieldValue<uint[]>(5);
        var sqlTypes = reader.GetFieldValue<string[]>(6);
        var primary = reader.GetFieldValue<string[]>(3);
        var notNull = reader.GetFieldValue<string[]>(7).ToHashSet(StringComparer.Ordinal);
        var declared = KeyColumnsOf(options, schema, name);
        return new CapturedTable(reader.GetString(0), reader.GetString(1),
            columnNames.Select((column, i) => new TableColumn(column, types[i], sqlTypes[i], notNull.Contains(column))).ToList(),
            declared ?? primary, reader.GetChar(2)) { IdentityIndexColumns = reader.GetFieldValue<string[]>(8) };
    }

    private static string? Refusal(CapturedTable table, PostgresSourceOptions options)
    {
        if (table.ReplicaIdentity == 'n')
            return $"table {table.Qualified} has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be captured: run ALTER TABLE {table.Quoted} REPLICA IDENTITY DEFAULT (or FULL)";
        if (table.KeyColumns.Count == 0)
            return $"table {table.Qualified} has no primary key: add one, or name its key columns under 'key-columns' ({table.Name}: col1,col2) and run ALTER TABLE {table.Quoted} REPLICA IDENTITY FULL";
        if (KeyColumnsOf(options, table.Schema, table.Name) is { } declared)
        {
            if (declared.FirstOrDefault(c => table.Columns.All(column => column.Name != c)) is { } missing)
                return $"key column '{missing}' of table {table.Qualified} does not exist";
            if (table.ReplicaIdentity is not ('f' or 'i'))
                return $"table {table.Qualified} is keyed by 'key-columns' but has REPLICA IDENTITY DEFAULT, so PostgreSQL would refuse its updates and deletes once published: run ALTER TABLE {table.Quoted} REPLICA IDENTITY FULL";
            // A row without a key value could be addressed by no sink: it would stop the stream at that row.
            if (declared.FirstOrDefault(c => !table.Columns.First(column => column.Name == c).NotNull) is { } nullable)
                return $"key column '{nullable}' of table {table.Qualified} may be NULL, and a row without its key cannot be addressed: run ALTER TABLE {table.Quoted} ALTER COLUMN {Sql.Identifier(nullable)} SET NOT NULL, or name other key columns";
            // Under REPLICA IDENTITY USING INDEX a delete carries the index's columns only.
            if (table.ReplicaIdentity == 'i' && declared.FirstOrDefault(c => !table.IdentityIndexColumns.Contains(c)) is { } unsent)
                return $"key column '{unsent}' of table {table.Qualified} is not in its replica identity index, so its deletes would not carry the key: name the index's columns under 'key-columns', or run ALTER TABLE {table.Quoted} REPLICA IDENTITY FULL";
        }
        return null;
    }

    private static IReadOnlyList<string>? KeyColumnsOf(PostgresSourceOptions options, string schema, string name) =>
        (options.KeyColumns.TryGetValue($"{schema}.{name}", out var columns) || options.KeyColumns.TryGetValue(name, out columns))
            ? columns.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : null;

    private static async Task<List<(string Schema, string Name)>> SchemaTablesAsync(NpgsqlDataSource database, PostgresSourceOptions options, CancellationToken cancellationToken)
    {
        var schema = options.Schema ?? "public";
        await using var command = database.CreateCommand("select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and not c.relispartition and n.nspname = $1 order by c.relname");
        command.Parameters.Add(new() { Value = schema });
        var names = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var name = reader.GetString(0);
            if (!options.Exclude.Contains(name) && !options.Exclude.Contains($"{schema}.{name}")) names.Add((schema, name));
        }
        return names;
    }

    /// <summary><c>schema.table</c> or <c>table</c> (in public).</summary>
    public static (string Schema, string Name) Split(string table) =>
        table.IndexOf('.') is var dot and > 0 ? (table[..dot], table[(dot + 1)..]) : ("public", table);
}

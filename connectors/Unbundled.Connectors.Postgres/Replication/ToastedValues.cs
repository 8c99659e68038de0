using Npgsql;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Values;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// Fills the columns an UPDATE did not change and PostgreSQL did not send because they are TOASTed, so a
/// view never gets a placeholder in place of real data (Debezium's <c>__debezium_unavailable_value</c>
/// complaint). From the old row when the table has REPLICA IDENTITY FULL; else read from the table by
/// key, which may give a newer value than the change's: the later change then streams and sets it again.
/// </summary>
internal static class ToastedValues
{
    /// <summary>Fills <paramref name="row"/>'s unchanged TOASTed columns.</summary>
    public static async Task FillAsync(NpgsqlDataSource database, RelationShape relation, RowReader.Row row, RowReader.Row? old, PgTypes types, CancellationToken cancellationToken)
    {
        var missing = new List<string>();
        foreach (var name in row.UnchangedToast)
        {
            if (old is { Complete: true } && old.Values.TryGetPropertyValue(name, out var value)) row.Values[name] = value?.DeepClone();
            else missing.Add(name);
        }
        if (missing.Count == 0) return;

        var table = relation.Table;
        var keys = table.KeyColumns;
        var select = string.Join(", ", missing.Select(m => $"{Sql.Identifier(m)}::text"));
        var where = string.Join(" and ", keys.Select((k, i) => $"{Sql.Identifier(k)} = cast(${i + 1} as {table.Columns.First(c => c.Name == k).SqlType})"));
        await using var command = database.CreateCommand($"select {select} from {table.Quoted} where {where}");
        foreach (var key in keys) command.Parameters.Add(new() { Value = (object?)row.Texts.GetValueOrDefault(key) ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        // A row deleted since has no value to give: its delete streams next.
        if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) return;
        for (var i = 0; i < missing.Count; i++)
        {
            var typeOid = relation.Columns.First(c => c.Name == missing[i]).TypeOid;
            row.Values[missing[i]] = PgValue.ToJson(reader.IsDBNull(i) ? null : reader.GetString(i), types[typeOid], types);
        }
    }
}

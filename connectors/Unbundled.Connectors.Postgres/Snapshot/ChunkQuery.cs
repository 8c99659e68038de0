using System.Text.Json.Nodes;
using Npgsql;
using Unbundled.Connectors.Postgres.Catalog;
using Unbundled.Connectors.Postgres.Values;

namespace Unbundled.Connectors.Postgres.Snapshot;

/// <summary>One keyset read of a table's rows after a key, in key order, as the snapshot and the watermarked chunks both read them.</summary>
internal static class ChunkQuery
{
    /// <summary>Up to <paramref name="limit"/> rows of <paramref name="table"/> after <paramref name="afterKey"/> (null: from the first), in <paramref name="transaction"/> when given.</summary>
    public static async Task<List<(string Key, JsonObject Row, string[] KeyTexts)>> ReadAsync(NpgsqlDataSource database, NpgsqlTransaction? transaction, CapturedTable table, PgTypes types,
        string[]? afterKey, int limit, CancellationToken cancellationToken)
    {
        var keys = table.KeyColumns.Select(k => table.Columns.First(c => c.Name == k)).ToList();
        // Output columns get names of their own: ORDER BY "id" would otherwise sort by the text output named "id".
        var select = string.Join(", ", keys.Concat(table.Columns).Select((c, i) => $"t.{Sql.Identifier(c.Name)}::text as c{i}"));
        var order = string.Join(", ", keys.Select(k => $"t.{Sql.Identifier(k.Name)}"));
        var where = afterKey is null ? "" : $"where ({order}) > ({string.Join(", ", keys.Select((k, i) => $"cast(${i + 1} as {k.SqlType})"))})";
        var sql = $"select {select} from {table.Quoted} t {where} order by {order} limit {limit}";

        NpgsqlConnection? own = null;
        try
        {
            var connection = transaction?.Connection ?? (own = await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false));
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            if (afterKey is not null)
                foreach (var value in afterKey) command.Parameters.Add(new() { Value = value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            var rows = new List<(string, JsonObject, string[])>(limit);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var keyTexts = new string[keys.Count];
                for (var i = 0; i < keys.Count; i++) keyTexts[i] = reader.GetString(i);
                var row = new JsonObject();
                for (var i = 0; i < table.Columns.Count; i++)
                {
                    var column = table.Columns[i];
                    row[column.Name] = PgValue.ToJson(reader.IsDBNull(keys.Count + i) ? null : reader.GetString(keys.Count + i), types[column.TypeOid], types);
                }
                rows.Add((table.KeyOf(row)!, row, keyTexts));
            }
            return rows;
        }
        finally
        {
            if (own is not null) await own.DisposeAsync().ConfigureAwait(false);
        }
    }
}

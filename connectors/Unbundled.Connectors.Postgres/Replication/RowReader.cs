using System.Text.Json.Nodes;
using Npgsql.Replication.PgOutput;
using Unbundled.Connectors.Postgres.Values;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>Reads a pgoutput tuple into a JSON row, noting the columns sent as "unchanged TOASTed value" and the text of each key value.</summary>
internal static class RowReader
{
    /// <summary>A row read from the wire: its values, the text of its key columns (for key lookups), and the columns PostgreSQL left out.</summary>
    internal sealed record Row(JsonObject Values, Dictionary<string, string?> Texts, List<string> UnchangedToast)
    {
        /// <summary>True when every column came with a value (an old row under REPLICA IDENTITY FULL), not just the key.</summary>
        public bool Complete { get; init; }
    }

    /// <summary>Reads <paramref name="tuple"/>, a row of <paramref name="relation"/> (with <paramref name="keyOnly"/>, an old key tuple: every other column is null).</summary>
    public static async Task<Row> ReadAsync(ReplicationTuple tuple, RelationShape relation, PgTypes types, CancellationToken cancellationToken, bool keyOnly = false)
    {
        var values = new JsonObject();
        var texts = new Dictionary<string, string?>(StringComparer.Ordinal);
        var unchanged = new List<string>();
        var i = 0;
        await foreach (var value in tuple.ConfigureAwait(false))
        {
            var (name, typeOid) = relation.Columns[i++];
            switch (value.Kind)
            {
                case TupleDataKind.Null:
                    values[name] = null;
                    break;
                case TupleDataKind.UnchangedToastedValue:
                    unchanged.Add(name);
                    break;
                default:
                    var text = await value.Get<string>(cancellationToken).ConfigureAwait(false);
                    // Only a key's text is ever looked up (to read TOASTed columns by key): the others are not kept.
                    if (relation.Table.KeyColumns.Contains(name)) texts[name] = text;
                    values[name] = PgValue.ToJson(text, types[typeOid], types);
                    break;
            }
        }
        return new Row(values, texts, unchanged) { Complete = !keyOnly && unchanged.Count == 0 };
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Connectors.Postgres.Catalog;

/// <summary>A column of a captured table, with the SQL name of its type (for casts in snapshot queries), and whether it is NOT NULL.</summary>
internal sealed record TableColumn(string Name, uint TypeOid, string SqlType, bool NotNull = false);

/// <summary>A table the source captures: its columns now, the columns that key its rows, and its replica identity.</summary>
internal sealed record CapturedTable(string Schema, string Name, IReadOnlyList<TableColumn> Columns, IReadOnlyList<string> KeyColumns, char ReplicaIdentity)
{
    /// <summary>The columns of the index its REPLICA IDENTITY USING INDEX names (none under another identity).</summary>
    public IReadOnlyList<string> IdentityIndexColumns { get; init; } = [];

    /// <summary><c>"schema"."table"</c>, quoted for SQL.</summary>
    public string Quoted => $"{Sql.Identifier(Schema)}.{Sql.Identifier(Name)}";

    /// <summary><c>schema.table</c>, as users write it.</summary>
    public string Qualified => $"{Schema}.{Name}";

    /// <summary>
    /// The event key of a row: the key column's value as text for a one-column key, else the JSON array of
    /// the key values (injective where joining with a separator would not be). Null when a key value is missing.
    /// </summary>
    public string? KeyOf(JsonObject row)
    {
        if (KeyColumns.Count == 1)
            return row[KeyColumns[0]] switch
            {
                null => null,
                var single when single.GetValueKind() == JsonValueKind.String => single.GetValue<string>(),
                // A number as parsed, without a writer per row (the same text ToJsonString would write).
                JsonValue parsed when parsed.TryGetValue<JsonElement>(out var element) => element.GetRawText(),
                var other => other.ToJsonString(),
            };
        var values = new JsonArray();
        foreach (var column in KeyColumns)
        {
            if (row[column] is not { } value) return null;
            values.Add(value.DeepClone());
        }
        return values.ToJsonString();
    }
}

/// <summary>Quoting for identifiers the source writes into SQL.</summary>
internal static class Sql
{
    /// <summary><paramref name="name"/> as a quoted identifier.</summary>
    public static string Identifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary><paramref name="text"/> as a string literal.</summary>
    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}

using Npgsql.Replication.PgOutput.Messages;
using Unbundled.Connectors.Postgres.Catalog;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// A table as pgoutput last described it (it sends a relation message before a table's first change and
/// after each change of its columns), with the key the source gives its rows. Copied, because Npgsql
/// reuses its message objects.
/// </summary>
internal sealed record RelationShape(string Schema, string Name, IReadOnlyList<(string Name, uint TypeOid)> Columns, CapturedTable Table)
{
    /// <summary>The shape <paramref name="message"/> describes, keyed as <paramref name="table"/> says.</summary>
    public static RelationShape Of(RelationMessage message, CapturedTable table) =>
        new(message.Namespace, message.RelationName, message.Columns.Select(c => (c.ColumnName, c.DataTypeId)).ToList(), table);
}

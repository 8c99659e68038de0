using System.Text.Json.Nodes;
using Npgsql.Replication.PgOutput.Messages;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres.Replication;

/// <summary>
/// Turns pgoutput's row messages into records: it keeps the tables as pgoutput last described them,
/// keys rows by the source's key columns, fills TOASTed columns left out, splits a key change into a
/// delete and a create, and passes over tables a named publication holds beyond those captured.
/// </summary>
internal sealed class RowChanges(ChangeStream.StreamSettings settings)
{
    private readonly Dictionary<uint, RelationShape> _relations = [];
    private readonly HashSet<uint> _ignored = [];
    private readonly ChangeStream.StreamSettings _settings = settings;

    /// <summary>Takes pgoutput's description of a table (sent before its first change and after each change of its columns).</summary>
    public async Task DescribeAsync(RelationMessage relation, CancellationToken cancellationToken)
    {
        var (schema, name) = (relation.Namespace, relation.RelationName);
        // A publication named in the options may hold more tables than the source captures: those are passed over.
        if (_settings.Tables.FirstOrDefault(t => t.Schema == schema && t.Name == name) is not { } table)
        {
            _ignored.Add(relation.RelationId);
            return;
        }
        _ignored.Remove(relation.RelationId);
        _relations[relation.RelationId] = RelationShape.Of(relation, table);
        foreach (var column in _relations[relation.RelationId].Columns)
            if (!_settings.Types.Knows(column.TypeOid)) await _settings.Types.LoadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The records of one row message, each at the offset <paramref name="next"/> gives.</summary>
    public async Task<List<SourceRecord>> RecordsAsync(PgOutputReplicationMessage message, (ulong Lsn, long? Xid, DateTimeOffset At) commit, Func<long> next, CancellationToken cancellationToken)
    {
        RowOrigin Origin(RelationShape r) => new(r.Schema, r.Name, commit.Xid, commit.Lsn, commit.At, Snapshot: false);
        // A row without its key (the table's identity or NOT NULL changed since the source started) is a dead letter at
        // its own offset: thrown, it ended the stream and failed the pipeline at that row again after every restart.
        SourceRecord Keyless(RelationShape r, JsonObject row) => SourceRecord.Unreadable(next(), "", row.ToJsonString(),
            $"a row of {r.Schema}.{r.Name} has no value for its key ({string.Join(", ", r.Table.KeyColumns)})");
        var events = _settings.Events;
        if (message is InsertMessage { Relation.RelationId: var i } && _ignored.Contains(i)
            || message is UpdateMessage { Relation.RelationId: var u } && _ignored.Contains(u)
            || message is DeleteMessage { Relation.RelationId: var d } && _ignored.Contains(d))
            return [];
        switch (message)
        {
            case InsertMessage insert:
            {
                var relation = _relations[insert.Relation.RelationId];
                var row = await RowReader.ReadAsync(insert.NewRow, relation, _settings.Types, cancellationToken).ConfigureAwait(false);
                return [relation.Table.KeyOf(row.Values) is { } key ? events.Record(next(), ChangeOp.Create, key, null, row.Values, Origin(relation)) : Keyless(relation, row.Values)];
            }
            case UpdateMessage update:
            {
                var relation = _relations[update.Relation.RelationId];
                // The old row (REPLICA IDENTITY FULL) or old key (when the key changed) comes first on the wire.
                RowReader.Row? old = update switch
                {
                    FullUpdateMessage full => await RowReader.ReadAsync(full.OldRow, relation, _settings.Types, cancellationToken).ConfigureAwait(false),
                    IndexUpdateMessage keyed => await RowReader.ReadAsync(keyed.Key, relation, _settings.Types, cancellationToken, keyOnly: true).ConfigureAwait(false),
                    _ => null,
                };
                var row = await RowReader.ReadAsync(update.NewRow, relation, _settings.Types, cancellationToken).ConfigureAwait(false);
                if (row.UnchangedToast.Count > 0) await ToastedValues.FillAsync(_settings.Database, relation, row, old, _settings.Types, cancellationToken).ConfigureAwait(false);
                if (relation.Table.KeyOf(row.Values) is not { } key) return [Keyless(relation, row.Values)];
                var before = old?.Values;
                if (before is not null && relation.Table.KeyOf(before) is { } oldKey && oldKey != key)
                {
                    // A changed key is the old row's delete and the new row's create, as Debezium emits it.
                    return [events.Record(next(), ChangeOp.Delete, oldKey, old!.Complete ? before : null, null, Origin(relation)),
                            events.Record(next(), ChangeOp.Create, key, null, row.Values, Origin(relation))];
                }
                return [events.Record(next(), ChangeOp.Update, key, old?.Complete == true ? before : null, row.Values, Origin(relation))];
            }
            case DeleteMessage delete:
            {
                var relation = _relations[delete.Relation.RelationId];
                var old = delete switch
                {
                    FullDeleteMessage full => await RowReader.ReadAsync(full.OldRow, relation, _settings.Types, cancellationToken).ConfigureAwait(false),
                    KeyDeleteMessage keyed => await RowReader.ReadAsync(keyed.Key, relation, _settings.Types, cancellationToken, keyOnly: true).ConfigureAwait(false),
                    _ => throw new InvalidOperationException("a delete without its old key"),
                };
                // Under REPLICA IDENTITY DEFAULT only the key is known: no before image, rather than one of nulls.
                return [relation.Table.KeyOf(old.Values) is { } key ? events.Record(next(), ChangeOp.Delete, key, old.Complete ? old.Values : null, null, Origin(relation)) : Keyless(relation, old.Values)];
            }
            case TruncateMessage truncate:
            {
                // Debezium's truncate event: the table and where, no key, no rows.
                var records = new List<SourceRecord>();
                foreach (var truncated in truncate.Relations.Where(r => !_ignored.Contains(r.RelationId)))
                {
                    var origin = new RowOrigin(truncated.Namespace, truncated.RelationName, commit.Xid, commit.Lsn, commit.At, Snapshot: false);
                    records.Add(events.Record(next(), ChangeOp.Truncate, "", null, null, origin));
                }
                return records;
            }
        }
        return [];
    }
}

using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres;

/// <summary>Where a row change happened, in the terms of Debezium's PostgreSQL <c>source</c> block.</summary>
internal sealed record RowOrigin(string Schema, string Table, long? TxId, ulong CommitLsn, DateTimeOffset CommittedAt, bool Snapshot);

/// <summary>
/// Builds the Debezium PostgreSQL envelope of a row change: <c>op</c>, <c>before</c>, <c>after</c>, and a
/// <c>source</c> with <c>connector: postgresql</c>, <c>db</c>, <c>schema</c>, <c>table</c>, <c>txId</c>,
/// <c>lsn</c>, <c>ts_ms</c> and <c>snapshot</c>. The version guarding sink writes is the change's offset: its commit
/// LSN shifted left 16 bits plus its index in the transaction, and for snapshot rows offsets just below the consistent
/// point's. A row read by a snapshot thus never overwrites a streamed change, and of two changes to one row in one
/// transaction the later wins: with the bare commit LSN they had equal versions, and every sink kept the first (an
/// insert then an update in one transaction left the insert).
/// </summary>
internal sealed class RowEvents(string sourceName, string database, TimeProvider clock)
{
    /// <summary>The record of one change at <paramref name="offset"/>.</summary>
    public SourceRecord Record(long offset, ChangeOp op, string key, JsonObject? before, JsonObject? after, RowOrigin origin) =>
        SourceRecord.Of(new ChangeEvent
        {
            Key = key,
            Op = op,
            Before = before,
            After = after,
            TsMs = clock.GetUtcNow().ToUnixTimeMilliseconds(),
            Source = new ChangeSource
            {
                Connector = "postgresql",
                Name = sourceName,
                Db = database,
                Schema = origin.Schema,
                Table = origin.Table,
                TxId = origin.TxId,
                Lsn = (long)origin.CommitLsn,
                Position = offset,
                Version = offset,
                TsMs = origin.CommittedAt.ToUnixTimeMilliseconds(),
                Snapshot = origin.Snapshot ? "true" : "false",
            },
        });
}

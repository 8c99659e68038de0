using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres;

/// <summary>Where a row change happened, in the terms of Debezium's PostgreSQL <c>source</c> block.</summary>
internal sealed record RowOrigin(string Schema, string Table, long? TxId, ulong CommitLsn, DateTimeOffset CommittedAt, bool Snapshot);

/// <summary>
/// Builds the Debezium PostgreSQL envelope of a row change: <c>op</c>, <c>before</c>, <c>after</c>, and a
/// <c>source</c> with <c>connector: postgresql</c>, <c>db</c>, <c>schema</c>, <c>table</c>, <c>txId</c>,
/// <c>lsn</c>, <c>ts_ms</c> and <c>snapshot</c>. The version guarding sink writes is the commit LSN (the
/// consistent point for snapshot rows), so a row read by a snapshot never overwrites a streamed change.
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
                Version = (long)origin.CommitLsn,
                TsMs = origin.CommittedAt.ToUnixTimeMilliseconds(),
                Snapshot = origin.Snapshot ? "true" : "false",
            },
        });
}

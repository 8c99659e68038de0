namespace Unbundled.Connectors.Postgres;

/// <summary>
/// The offsets of a postgres source. A streamed change's offset is its transaction's commit LSN shifted
/// left 16 bits plus its index in the transaction, so offsets grow in commit order and say where to resume
/// without any state beside the slot. Commit records are at least 32 bytes of WAL apart, so a transaction
/// may hold 32 × 65,536 = 2,097,152 changes before its offsets would reach the next one's; LSNs up to
/// 2^47 (128 TiB of WAL) fit. Snapshot rows take the offsets just below the consistent point's, counted
/// from where the pipeline stood when the snapshot began.
/// </summary>
internal static class ChangeOffsets
{
    /// <summary>How many changes one transaction may hold.</summary>
    public const int MaxChangesPerTransaction = 32 << 16;

    /// <summary>The offset of change <paramref name="index"/> of the transaction committed at <paramref name="commitLsn"/>.</summary>
    public static long OfChange(ulong commitLsn, int index)
    {
        if (commitLsn >= 1UL << 47) throw new Unbundled.Sdk.ConnectorRefusedException($"LSN {commitLsn:X} is past the 128 TiB the postgres source's offsets cover: rebuild the view on a new cluster.");
        if (index >= MaxChangesPerTransaction)
            throw new Unbundled.Sdk.ConnectorRefusedException($"A transaction committed at LSN {Lsn(commitLsn)} holds more than {MaxChangesPerTransaction:N0} changes, more than the postgres source's offsets can order; split it.");
        return (long)(commitLsn << 16) + index;
    }

    /// <summary>The offset the snapshot ends at: everything after it is streamed from the slot's consistent point.</summary>
    public static long StreamStart(ulong consistentLsn) => (long)(consistentLsn << 16) - 1;

    /// <summary>
    /// Where to start streaming to resume after <paramref name="offset"/>: 32 bytes of WAL before its commit
    /// LSN (a transaction of more than 65,536 changes spills past its own LSN's range), so the transaction
    /// holding it is sent again and its changes up to the offset are dropped.
    /// </summary>
    public static ulong ResumeLsn(long offset) => (ulong)Math.Max(0, (offset >> 16) - 32);

    /// <summary>The LSN in PostgreSQL's notation.</summary>
    public static string Lsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}";
}

namespace Unbundled.Connectors.Postgres;

/// <summary>Options of the <c>postgres</c> source: which tables of which database to capture, and how.</summary>
public sealed class PostgresSourceOptions
{
    /// <summary>An Npgsql connection string; the role needs REPLICATION and must own the tables (to publish them).</summary>
    public string Connection { get; set; } = "";

    /// <summary>The tables to capture, <c>schema.table</c> or <c>table</c> (in <c>public</c>); empty: every table of <see cref="Schema"/>.</summary>
    public List<string> Tables { get; set; } = [];

    /// <summary>With no <see cref="Tables"/>: the schema whose tables are captured.</summary>
    public string? Schema { get; set; }

    /// <summary>Tables of <see cref="Schema"/> left out.</summary>
    public List<string> Exclude { get; set; } = [];

    /// <summary>For tables without a primary key: <c>table: col1,col2</c>, the columns that identify a row (the table needs REPLICA IDENTITY FULL).</summary>
    public Dictionary<string, string> KeyColumns { get; set; } = [];

    /// <summary>The publication's name; default <c>unbundled_&lt;source&gt;</c>. A publication named here that exists is used as it is.</summary>
    public string? Publication { get; set; }

    /// <summary><c>initial</c> (default): read the tables once, consistently with the stream, before streaming; <c>never</c>: stream changes only.</summary>
    public string Snapshot { get; set; } = "initial";

    /// <summary>Rows read per snapshot query, and between two saved snapshot checkpoints.</summary>
    public int SnapshotChunkSize { get; set; } = 10_000;

    /// <summary>How often an idle source writes a heartbeat into the WAL so its slot advances (0: never).</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The schema where the source keeps its snapshot checkpoints (not <c>unbundled</c>: a role of that name would find its own tables created there by the default search_path).</summary>
    public string StateSchema { get; set; } = "unbundled_cdc";
}

namespace Unbundled.Log.Sqlite;

/// <summary>Where the embedded SQLite command log lives (section <c>Unbundled:Log:Sqlite</c>).</summary>
public sealed class SqliteLogOptions
{
    /// <summary>The database file; created when missing.</summary>
    public string Path { get; set; } = "unbundled.db";

    /// <summary>Longest wait for an append before re-reading the log anyway (covers writers in other processes).</summary>
    public TimeSpan SafetyPollInterval { get; set; } = TimeSpan.FromSeconds(2);
}

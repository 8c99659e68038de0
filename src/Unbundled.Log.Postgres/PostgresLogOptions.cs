namespace Unbundled.Log.Postgres;

/// <summary>Where the PostgreSQL command log lives (section <c>Unbundled:Log:Postgres</c>).</summary>
public sealed class PostgresLogOptions
{
    /// <summary>The Npgsql connection string.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>The schema holding the log's tables (letters, digits and underscores).</summary>
    public string Schema { get; set; } = "unbundled";

    /// <summary>Longest wait for a notification before a waiting reader looks at the log anyway (covers notifications lost while the listener reconnects).</summary>
    public TimeSpan SafetyPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the notification listener's connection may sit idle before it pings the server (Npgsql
    /// <c>Keepalive</c>), so a connection a network device silently dropped is noticed and replaced.
    /// Ignored when the connection string sets <c>Keepalive</c> itself.
    /// </summary>
    public TimeSpan ListenerKeepAlive { get; set; } = TimeSpan.FromSeconds(15);
}

using Microsoft.Data.Sqlite;

namespace Unbundled.Log.Sqlite;

/// <summary>Opens connections to the embedded log's file, with the settings every user of the file needs.</summary>
internal sealed class SqliteDatabase(SqliteLogOptions options)
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = Path.GetFullPath(options.Path),
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>The file's full path.</summary>
    public string FilePath { get; } = Path.GetFullPath(options.Path);

    public SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        Configure(connection);
        return connection;
    }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        Configure(connection);
        return connection;
    }

    // WAL with synchronous=NORMAL is durable against process crashes; a power cut may lose the last
    // transactions but never corrupts the file. Both settings belong to the connection, not the file.
    private static void Configure(SqliteConnection connection)
    {
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";
        pragma.ExecuteNonQuery();
    }
}

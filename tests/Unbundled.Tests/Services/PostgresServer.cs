using Npgsql;
using Testcontainers.PostgreSql;
using Unbundled.Testing;

namespace Unbundled.Tests.Services;

/// <summary>
/// A real PostgreSQL for the tests: <c>UNBUNDLED_POSTGRES</c> when set; else a Testcontainers
/// container when a Docker engine is reachable; else the one compose/local-services.sh starts.
/// Never skipped: when none of these works the tests fail and say why.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private PostgreSqlContainer? _container;

    /// <summary>The connection string of the server.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("UNBUNDLED_POSTGRES") is not { Length: > 0 } && DockerEngine.IsReachable)
        {
            _container = new PostgreSqlBuilder("postgres:15").WithCommand("-c", "wal_level=logical").Build();
            await _container.StartAsync();
            ConnectionString = _container.GetConnectionString();
            return;
        }
        ConnectionString = await LocalServices.GetAsync("UNBUNDLED_POSTGRES");
    }

    /// <summary>A schema name no other test uses, built from the test's name (dropped by <see cref="DropSchemaAsync"/>).</summary>
    public static string UniqueSchema(string test) =>
        $"t_{new string(test.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(26).ToArray())}_{Guid.NewGuid():N}";

    /// <summary>Drops a test's schema and everything in it.</summary>
    public async Task DropSchemaAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP SCHEMA IF EXISTS \"{schema}\" CASCADE", connection);
        await drop.ExecuteNonQueryAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_container is not null) await _container.DisposeAsync();
    }
}

/// <summary>Tests that share the one PostgreSQL server.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL";
}

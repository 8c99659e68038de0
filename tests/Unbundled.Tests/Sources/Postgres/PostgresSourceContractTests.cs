using System.Text.Json.Nodes;
using Unbundled.Sdk.Sources;
using Unbundled.Sdk.Testing;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Postgres;

/// <summary>The source contract on the postgres source: each origin is a table, each change a SQL statement on it.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresSourceContractTests(PostgresServer server) : SourceConnectorContract, IAsyncLifetime
{
    private readonly CapturedDatabase _database = new(server, "source_contract");

    public Task InitializeAsync() => _database.CreateAsync();

    protected override async Task<ISourceConnector> CreateSourceAsync(string origin)
    {
        await _database.ExecuteAsync($"create table if not exists {origin} (id text primary key, title text, n int)");
        return await _database.SourceAsync(_database.Pipelines + origin[..8], tables: origin);
    }

    protected override Task CreateAsync(string origin, string key, JsonObject row) =>
        _database.ExecuteAsync($"insert into {origin} (id, title, n) values ($1, $2, $3)", key, (string)row["title"]!, (int)row["n"]!);

    protected override Task UpdateAsync(string origin, string key, JsonObject row) =>
        _database.ExecuteAsync($"update {origin} set title = $2, n = $3 where id = $1", key, (string)row["title"]!, (int)row["n"]!);

    protected override Task DeleteAsync(string origin, string key) => _database.ExecuteAsync($"delete from {origin} where id = $1", key);

    public async Task DisposeAsync() => await _database.DisposeAsync();
}

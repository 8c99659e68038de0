using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Contract;

/// <summary>The command log contract on PostgreSQL, one schema per test.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresCommandLogContractTests(PostgresServer server) : CommandLogContract, IAsyncLifetime
{
    private readonly List<(PostgresCommandLog Log, string Schema)> _logs = [];

    protected override async Task<ICommandLog> CreateLogAsync([CallerMemberName] string test = "")
    {
        var schema = PostgresServer.UniqueSchema(test);
        var log = new PostgresCommandLog(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = schema, SafetyPollInterval = TimeSpan.FromSeconds(30) }));
        _logs.Add((log, schema));
        await log.InitializeAsync(default);
        return log;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (log, schema) in _logs)
        {
            await log.DisposeAsync();
            await server.DropSchemaAsync(schema);
        }
    }
}

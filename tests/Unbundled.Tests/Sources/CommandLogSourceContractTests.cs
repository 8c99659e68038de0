using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Postgres;
using Unbundled.Log.Sqlite;
using Unbundled.Model;
using Unbundled.Sdk.Sources;
using Unbundled.Sdk.Testing;
using Unbundled.Sources.CommandLog;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources;

/// <summary>The source contract on the command log: each origin is a model type, each change one command appended to it.</summary>
public abstract class CommandLogSourceContract : SourceConnectorContract
{
    private readonly Dictionary<ModelKey, long> _versions = [];

    /// <summary>The log the sources read and the changes go to.</summary>
    protected abstract ICommandLog Log { get; }

    protected override async Task<ISourceConnector> CreateSourceAsync(string origin)
    {
        var source = new CommandLogSource(Log, [origin], "contract");
        await source.ConnectAsync(default);
        return source;
    }

    protected override Task CreateAsync(string origin, string key, JsonObject row) => AppendAsync(origin, key, CommandOp.Create, row);

    protected override Task UpdateAsync(string origin, string key, JsonObject row) => AppendAsync(origin, key, CommandOp.Update, row);

    protected override Task DeleteAsync(string origin, string key) => AppendAsync(origin, key, CommandOp.Delete, null);

    private async Task AppendAsync(string origin, string key, CommandOp op, JsonObject? document)
    {
        var model = new ModelKey(origin, key);
        var version = _versions.GetValueOrDefault(model);
        await Log.AppendAsync([new ModelAppend(model, version, [new Command { Op = op, Path = "", Value = document }], DateTimeOffset.UtcNow)], default);
        _versions[model] = version + 1;
    }
}

/// <summary>The log source over the embedded SQLite log.</summary>
public sealed class SqliteCommandLogSourceContractTests : CommandLogSourceContract, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly SqliteCommandLog _log;

    public SqliteCommandLogSourceContractTests()
    {
        _log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        _log.InitializeAsync(default).GetAwaiter().GetResult();
    }

    protected override ICommandLog Log => _log;

    public void Dispose()
    {
        _log.Dispose();
        _directory.Dispose();
    }
}

/// <summary>The log source over the PostgreSQL log, in a schema of its own.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresCommandLogSourceContractTests(PostgresServer server) : CommandLogSourceContract, IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema("log_source_contract");
    private PostgresCommandLog? _log;

    protected override ICommandLog Log => _log!;

    public async Task InitializeAsync()
    {
        _log = new PostgresCommandLog(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = _schema, SafetyPollInterval = TimeSpan.FromSeconds(30) }));
        await _log.InitializeAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _log!.DisposeAsync();
        await server.DropSchemaAsync(_schema);
    }
}

using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Unbundled.Log;
using Unbundled.Log.Sqlite;

namespace Unbundled.Tests.Contract;

/// <summary>The command log contract on the embedded SQLite store, one temporary file per test.</summary>
public sealed class SqliteCommandLogContractTests : CommandLogContract, IDisposable
{
    private readonly TempDirectory _directory = new();
    private readonly List<SqliteCommandLog> _logs = [];

    protected override async Task<ICommandLog> CreateLogAsync([CallerMemberName] string test = "")
    {
        var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File(test + ".db"), SafetyPollInterval = TimeSpan.FromSeconds(30) }));
        _logs.Add(log);
        await log.InitializeAsync(default);
        return log;
    }

    public void Dispose()
    {
        foreach (var log in _logs) log.Dispose();
        _directory.Dispose();
    }
}

using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Unbundled.Log.Postgres;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Model.Interceptors;
using Unbundled.Tests.Services;
using Unbundled.TodoApp.Model;

namespace Unbundled.Tests.Master;

/// <summary>Two masters on one PostgreSQL database, as two server processes behind a load balancer would be.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresMasterConcurrencyTests(PostgresServer server) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(PostgresMasterConcurrencyTests));
    private readonly List<PostgresCommandLog> _logs = [];

    private async Task<MasterModel> StartMasterAsync()
    {
        var log = new PostgresCommandLog(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = _schema }));
        _logs.Add(log);
        await log.InitializeAsync(default);
        var types = new ModelTypeRegistry([new ModelType(TodoList.TypeName, [new CallerIdentityInterceptor(), new TodoStampInterceptor()])]);
        return new MasterModel(log, types, Options.Create(new MasterOptions()), TimeProvider.System, NullLogger<MasterModel>.Instance);
    }

    [Fact]
    public async Task Flushes_racing_through_two_masters_neither_interleave_nor_get_lost()
    {
        using var first = await StartMasterAsync();
        using var second = await StartMasterAsync();
        var lists = Enumerable.Range(0, 4).Select(i => new ModelKey(TodoList.TypeName, $"list-{i}")).ToList();
        foreach (var list in lists)
            await first.FlushAsync(new FlushRequest(list, 0, [new Command { Op = CommandOp.Create, Path = "", Value = JsonNode.Parse("""{"todos":[]}""") }]), default);

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (client, ct) =>
        {
            var master = client % 2 == 0 ? first : second;
            var commands = Enumerable.Range(0, 4)
                .Select(i => new Command { Op = CommandOp.Create, Path = "/todos/-", Value = JsonNode.Parse($$"""{"title":"{{client}}-{{i}}"}""") })
                .ToList();
            // Clients flush from a stale base version: the master rebases them after what they missed.
            await master.FlushAsync(new FlushRequest(lists[client % lists.Count], 1, commands), ct);
        });

        foreach (var list in lists)
        {
            var entries = await _logs[0].ReadModelEntriesAsync(list, 1, default);
            Assert.Equal(200, entries.Count);
            Assert.Equal(Enumerable.Range(2, 200).Select(v => (long)v), entries.Select(e => e.Version));
            foreach (var flush in entries.Chunk(4))
                Assert.Single(flush.Select(e => ((string)e.Command.Value!["title"]!).Split('-')[0]).Distinct());
            var state = await second.ReadAsync(list, null, default);
            Assert.Equal(200, ((JsonArray)state.Document!["todos"]!).Count);
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var log in _logs) await log.DisposeAsync();
        await server.DropSchemaAsync(_schema);
    }
}

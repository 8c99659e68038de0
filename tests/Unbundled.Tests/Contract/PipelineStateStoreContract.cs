using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;
using Unbundled.Log.Postgres;
using Unbundled.Log.Sqlite;
using Unbundled.Pipelines.State;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Contract;

/// <summary>What every pipeline state store must do with offsets and dead letters, whatever database holds them.</summary>
public abstract class PipelineStateStoreContract
{
    /// <summary>An initialised store no other test uses.</summary>
    protected abstract Task<IPipelineStateStore> CreateStoreAsync([CallerMemberName] string test = "");

    private static DeadLetter Letter(long position, string key = "k") => new(0, "p", position, key, "{}", "bad", DateTimeOffset.UtcNow);

    [Fact]
    public async Task An_offset_reads_back_as_stored()
    {
        var store = await CreateStoreAsync();

        Assert.Equal(0, await store.LoadOffsetAsync("p", default));
        await store.StoreOffsetAsync("p", 42, 0, default);
        Assert.Equal(42, await store.LoadOffsetAsync("p", default));
        await store.StoreOffsetAsync("p", 40, 0, default);
        Assert.Equal(42, await store.LoadOffsetAsync("p", default));
    }

    /// <summary>
    /// Initialises, twice, a store over tables from before lease tokens (offset 42 and generation 1 of pipeline <c>p</c>):
    /// what they held reads back, and writes are fenced from then on.
    /// </summary>
    protected static async Task AssertMigratedAsync(IPipelineStateStore store)
    {
        await store.InitializeAsync(default);
        await store.InitializeAsync(default);

        Assert.Equal(42, await store.LoadOffsetAsync("p", default));
        Assert.Equal(new PipelineGeneration(1, null, "f"), await store.LoadGenerationAsync("p", default));
        await store.StoreOffsetAsync("p", 43, 2, default);
        await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.StoreOffsetAsync("p", 44, 1, default));
        Assert.Equal(43, await store.LoadOffsetAsync("p", default));
    }

    [Fact]
    public async Task A_rewound_offset_goes_back_and_is_fenced_too()
    {
        var store = await CreateStoreAsync();
        await store.StoreOffsetAsync("p", 50, 2, default);

        await store.RewindOffsetAsync("p", 30, 2, default);
        Assert.Equal(30, await store.LoadOffsetAsync("p", default));
        await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.RewindOffsetAsync("p", 10, 1, default));
        Assert.Equal(30, await store.LoadOffsetAsync("p", default));
    }

    [Fact]
    public async Task An_offset_or_generation_stored_under_a_later_lease_token_refuses_an_earlier_writer()
    {
        var store = await CreateStoreAsync();
        await store.StoreOffsetAsync("p#generation-1", 10, 1, default);
        await store.StoreGenerationAsync("p", new PipelineGeneration(0, 1, "f"), 1, default);

        // The successor, under token 2, writes; the former owner's token-1 writes are refused and change nothing.
        await store.StoreOffsetAsync("p#generation-1", 20, 2, default);
        await store.StoreGenerationAsync("p", new PipelineGeneration(1, null, "f"), 2, default);
        var offset = await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.StoreOffsetAsync("p#generation-1", 30, 1, default));
        var generation = await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.StoreGenerationAsync("p", new PipelineGeneration(0, 1, "f"), 1, default));

        Assert.Equal((2L, 2L), (offset.HeldFence, generation.HeldFence));
        Assert.Equal(20, await store.LoadOffsetAsync("p#generation-1", default));
        Assert.Equal(new PipelineGeneration(1, null, "f"), await store.LoadGenerationAsync("p", default));
        // The same token writes on, and a writer without a lease (token 0) is not checked.
        await store.StoreOffsetAsync("p#generation-1", 25, 2, default);
        await store.StoreOffsetAsync("p#generation-1", 26, 0, default);
        await store.StoreGenerationAsync("p", new PipelineGeneration(1, null, "f"), 0, default);
        Assert.Equal(26, await store.LoadOffsetAsync("p#generation-1", default));
        // ... and leaves the later token in place.
        await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.StoreOffsetAsync("p#generation-1", 40, 1, default));
        await Assert.ThrowsAsync<Unbundled.Sdk.Sinks.SinkFencedException>(() => store.StoreGenerationAsync("p", new PipelineGeneration(0, 1, "f"), 1, default));
        await store.StoreOffsetAsync("p#generation-1", 27, 2, default);
        Assert.Equal(27, await store.LoadOffsetAsync("p#generation-1", default));
    }

    [Fact]
    public async Task One_event_is_dead_lettered_once_however_often_it_is_met_again()
    {
        var store = await CreateStoreAsync();

        Assert.True(await store.AddDeadLetterAsync(Letter(7), default));
        Assert.False(await store.AddDeadLetterAsync(Letter(7), default));
        Assert.True(await store.AddDeadLetterAsync(Letter(7, "other"), default));

        Assert.Equal(2, await store.CountDeadLettersAsync("p", default));
    }

    [Fact]
    public async Task Trimming_keeps_the_newest_letters_and_counts_what_it_dropped()
    {
        var store = await CreateStoreAsync();
        for (var position = 1; position <= 10; position++) await store.AddDeadLetterAsync(Letter(position), default);

        Assert.Equal(6, await store.TrimDeadLettersAsync("p", 4, default));
        Assert.Equal(6, await store.TrimDeadLettersAsync("p", 4, default));
        await store.AddDeadLetterAsync(Letter(11), default);
        Assert.Equal(7, await store.TrimDeadLettersAsync("p", 4, default));

        var kept = await store.ReadDeadLettersAsync("p", 0, 100, default);
        Assert.Equal([8L, 9, 10, 11], kept.Select(l => l.Position));
    }

    [Fact]
    public async Task A_letter_removed_is_gone_without_counting_as_dropped_and_another_pipelines_letter_is_out_of_reach()
    {
        var store = await CreateStoreAsync();
        await store.AddDeadLetterAsync(Letter(1), default);
        await store.AddDeadLetterAsync(Letter(2), default);
        var first = (await store.ReadDeadLettersAsync("p", 0, 10, default))[0];

        Assert.False(await store.RemoveDeadLetterAsync("other", first.Id, default));
        Assert.True(await store.RemoveDeadLetterAsync("p", first.Id, default));
        Assert.False(await store.RemoveDeadLetterAsync("p", first.Id, default));

        Assert.Equal([2L], (await store.ReadDeadLettersAsync("p", 0, 10, default)).Select(l => l.Position));
        Assert.Equal(0, await store.CountDroppedDeadLettersAsync("p", default));
    }

    [Fact]
    public async Task A_letter_that_fails_again_keeps_its_new_reason()
    {
        var store = await CreateStoreAsync();
        await store.AddDeadLetterAsync(Letter(1), default);
        var letter = (await store.ReadDeadLettersAsync("p", 0, 10, default))[0];
        var again = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000);

        await store.ReasonDeadLetterAsync("p", letter.Id, "still bad", again, default);

        var reread = (await store.ReadDeadLettersAsync("p", 0, 10, default))[0];
        Assert.Equal(("still bad", again, letter.Event), (reread.Reason, reread.FailedAt, reread.Event));
    }
}

public sealed class SqlitePipelineStateStoreContractTests : PipelineStateStoreContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IPipelineStateStore> CreateStoreAsync([CallerMemberName] string test = "")
    {
        var store = new SqlitePipelineStateStore(Options.Create(new SqliteLogOptions { Path = _directory.File(test + ".db") }));
        await store.InitializeAsync(default);
        return store;
    }

    [Fact]
    public async Task A_file_from_before_lease_tokens_keeps_its_offsets_and_is_fenced_from_then_on()
    {
        var path = _directory.File("old.db");
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}"))
        {
            await connection.OpenAsync();
            await using var old = connection.CreateCommand();
            old.CommandText = """
                CREATE TABLE pipeline_offsets (pipeline TEXT PRIMARY KEY, position INTEGER NOT NULL);
                CREATE TABLE pipeline_generations (pipeline TEXT PRIMARY KEY, active INTEGER NOT NULL, building INTEGER, fingerprint TEXT);
                INSERT INTO pipeline_offsets VALUES ('p', 42);
                INSERT INTO pipeline_generations VALUES ('p', 1, NULL, 'f');
                """;
            await old.ExecuteNonQueryAsync();
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        var store = new SqlitePipelineStateStore(Options.Create(new SqliteLogOptions { Path = path }));
        await AssertMigratedAsync(store);
    }

    public void Dispose() => _directory.Dispose();
}

[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresPipelineStateStoreContractTests(PostgresServer server) : PipelineStateStoreContract, IAsyncLifetime
{
    private readonly List<(PostgresPipelineStateStore Store, string Schema)> _stores = [];

    protected override async Task<IPipelineStateStore> CreateStoreAsync([CallerMemberName] string test = "")
    {
        var schema = PostgresServer.UniqueSchema(test);
        var store = new PostgresPipelineStateStore(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = schema }));
        _stores.Add((store, schema));
        await store.InitializeAsync(default);
        return store;
    }

    [Fact]
    public async Task Tables_from_before_lease_tokens_keep_their_offsets_and_are_fenced_from_then_on()
    {
        var schema = PostgresServer.UniqueSchema(nameof(Tables_from_before_lease_tokens_keep_their_offsets_and_are_fenced_from_then_on));
        await using (var connection = new Npgsql.NpgsqlConnection(server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var old = new Npgsql.NpgsqlCommand($"""
                CREATE SCHEMA "{schema}";
                CREATE TABLE "{schema}".pipeline_offsets (pipeline text PRIMARY KEY, position bigint NOT NULL);
                CREATE TABLE "{schema}".pipeline_generations (pipeline text PRIMARY KEY, active int NOT NULL, building int, fingerprint text);
                INSERT INTO "{schema}".pipeline_offsets VALUES ('p', 42);
                INSERT INTO "{schema}".pipeline_generations VALUES ('p', 1, NULL, 'f');
                """, connection);
            await old.ExecuteNonQueryAsync();
        }
        var store = new PostgresPipelineStateStore(Options.Create(new PostgresLogOptions { ConnectionString = server.ConnectionString, Schema = schema }));
        _stores.Add((store, schema));
        await AssertMigratedAsync(store);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var (store, schema) in _stores)
        {
            await store.DisposeAsync();
            await server.DropSchemaAsync(schema);
        }
    }
}

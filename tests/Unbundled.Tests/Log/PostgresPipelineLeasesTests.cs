using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Unbundled.Log.Postgres;
using Unbundled.Pipelines.Leases;
using Unbundled.Pipelines.State;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Log;

/// <summary>The fencing tokens PostgreSQL's pipeline leases hand out, against a real server.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresPipelineLeasesTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(PostgresPipelineLeasesTests));
    private PostgresPipelineStateStore? _state;

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Each_owner_takes_the_next_token_and_after_the_owners_row_is_deleted_one_above_every_token_the_state_rows_hold()
    {
        var options = Options.Create(new PostgresLogOptions { ConnectionString = postgres.ConnectionString, Schema = _schema });
        _state = new PostgresPipelineStateStore(options);
        await _state.InitializeAsync(default);
        var leases = new PostgresPipelineLeases(options, Options.Create(new PipelineLeaseOptions { Instance = "leases-test" }), NullLogger<PostgresPipelineLeases>.Instance);

        Assert.Equal(1, await TakeAsync(leases));
        Assert.Equal(2, await TakeAsync(leases));

        // Later owners wrote the state rows (a rebuild's offset under token 9); then an operator deleted who runs what.
        await _state.StoreGenerationAsync("p", new PipelineGeneration(0, 1, "f"), 7, default);
        await _state.StoreOffsetAsync("p#generation-1", 10, 9, default);
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var reset = new NpgsqlCommand($"delete from \"{_schema}\".pipeline_owners", connection);
            await reset.ExecuteNonQueryAsync();
        }

        // Counting from 1 again, the next owner would be refused by its own store until its token passed 9.
        Assert.Equal(10, await TakeAsync(leases));
        Assert.Equal(11, await TakeAsync(leases));
    }

    /// <summary>Takes the lease of pipeline <c>p</c>, gives it back, and answers its token.</summary>
    private static async Task<long> TakeAsync(PostgresPipelineLeases leases)
    {
        await using var lease = await leases.AcquireAsync("p", _ => { }, default);
        return lease.Fence;
    }

    public async Task DisposeAsync()
    {
        if (_state is not null) await _state.DisposeAsync();
        await postgres.DropSchemaAsync(_schema);
    }
}

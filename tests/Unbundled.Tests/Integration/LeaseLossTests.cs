using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using Unbundled.Testing;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The database session holding a pipeline's lease is terminated under the owner (as a failover or an
/// operator's pg_terminate_backend would): the owner stops writing at once, readers get answers (never a
/// 500 from a disposed sink), and the instance takes the lease again and goes on from its offset.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class LeaseLossTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(LeaseLossTests));
    private readonly string _instance = $"loss-{Guid.NewGuid():N}"[..17];
    private readonly TempDirectory _directory = new();

    public Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task An_owner_whose_lease_session_is_terminated_stops_then_takes_the_lease_again_and_readers_never_see_a_server_error()
    {
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        await using var server = await StartWithOneListAsync(redis);

        using var stop = new CancellationTokenSource();
        var answers = new List<HttpStatusCode>();
        var reader = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await server.Client.GetAsync("/views/titles/list:groceries");
                lock (answers) answers.Add(response.StatusCode);
                await Task.Delay(5);
            }
        });

        Assert.Equal(1, await TerminateLeaseSessionAsync());
        await FlushAsync(server, 1, """{"op":"update","path":"/title","value":"Weekend"}""");
        await server.WaitForStatusAsync("titles", status => (string?)status["state"] == "Running" && (long)status["offset"]! >= 2 && (string?)status["owner"] == _instance);
        await stop.CancelAsync();
        await reader;

        var document = (await server.Client.GetFromJsonAsync<JsonObject>("/views/titles/list:groceries"))!["document"]!;
        Assert.Equal("Weekend", (string?)document["title"]);
        Assert.NotEmpty(answers);
        Assert.All(answers, code => Assert.True(code is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, $"a read answered {code}"));
        // The lease was taken twice, and the view's store holds the second owner's fencing token.
        Assert.Equal(2L, await FenceAsync());
        Assert.Equal("2", await StoredFenceAsync(redis));
    }

    [Fact]
    public async Task An_owner_whose_store_was_written_under_a_later_fencing_token_stops_writing_and_takes_the_lease_anew()
    {
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        await using var server = await StartWithOneListAsync(redis);
        Assert.Equal(1L, await FenceAsync());

        // A successor took the lease under the next token and wrote, while this owner, paused, still believed it held the lease.
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var taken = new NpgsqlCommand($"update \"{_schema}\".pipeline_owners set fence = 2 where pipeline = 'titles'", connection);
            await taken.ExecuteNonQueryAsync();
        }
        await using (var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis))
            await connection.GetDatabase().StringSetAsync($"{_instance}:unbundled:titles:fence", 2);
        await FlushAsync(server, 1, """{"op":"update","path":"/title","value":"Weekend"}""");

        // Its write is refused; it gives the lease up, takes it anew under token 3 and writes from its offset.
        await server.WaitForStatusAsync("titles", status => (long)status["offset"]! >= 2 && (string?)status["state"] == "Running");
        Assert.Equal(3L, await FenceAsync());
        Assert.Equal("Weekend", (string?)(await server.Client.GetFromJsonAsync<JsonObject>("/views/titles/list:groceries"))!["document"]!["title"]);
    }

    [Fact]
    public async Task An_owner_whose_engine_kept_offset_was_stored_under_a_later_fencing_token_stops_writing_and_takes_the_lease_anew()
    {
        // A Kafka sink keeps no offset of its own: the engine stores it in the log's database, fenced there.
        var kafka = new KafkaServer();
        await kafka.InitializeAsync();
        try
        {
            var topic = $"titles-{Guid.NewGuid():N}"[..16];
            await kafka.CreateTopicAsync(topic, 1);
            var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
            await using var server = await StartWithOneListAsync(redis, $$"""{ connector: kafka, brokers: "{{kafka.Brokers}}", topic: {{topic}} }""");
            Assert.Equal(1L, await FenceAsync());
            // The owner claimed the view's offset and generation records under its token when it opened the view.
            Assert.Equal((1L, 1L), await StoredFencesAsync());

            // A successor took the lease under the next token and stored the view's offset, while this owner was paused.
            await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
            {
                await connection.OpenAsync();
                await using var taken = new NpgsqlCommand(
                    $"update \"{_schema}\".pipeline_owners set fence = 2 where pipeline = 'titles'; update \"{_schema}\".pipeline_offsets set fence = 2 where pipeline = 'titles'",
                    connection);
                await taken.ExecuteNonQueryAsync();
            }
            await FlushAsync(server, 1, """{"op":"update","path":"/title","value":"Weekend"}""");

            // Its offset is refused; it gives the lease up, takes it anew under token 3 and publishes from its offset.
            await server.WaitForStatusAsync("titles", status => (long)status["offset"]! >= 2 && (string?)status["state"] == "Running");
            Assert.Equal(3L, await FenceAsync());
            Assert.Equal((3L, 3L), await StoredFencesAsync());
        }
        finally
        {
            await kafka.DisposeAsync();
        }
    }

    /// <summary>The lease tokens the view's offset and generation records were last written under.</summary>
    private async Task<(long Offset, long Generation)> StoredFencesAsync()
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand(
            $"select (select fence from \"{_schema}\".pipeline_offsets where pipeline = 'titles'), (select fence from \"{_schema}\".pipeline_generations where pipeline = 'titles')",
            connection);
        await using var row = await query.ExecuteReaderAsync();
        await row.ReadAsync();
        return (row.GetInt64(0), row.GetInt64(1));
    }

    /// <summary>This instance on the PostgreSQL log with a view of list titles (in Redis unless <paramref name="sink"/> says otherwise), holding one list.</summary>
    private async Task<RunningServer> StartWithOneListAsync(string redis, string? sink = null)
    {
        await File.WriteAllTextAsync(_directory.File("pipelines.yaml"), $$"""
            sources:
              lists: { models: [todo-list] }
            sinks:
              cache: {{sink ?? $$"""{ connector: redis, prefix: "{{_instance}}:", key: "list:{key}" }"""}}
            pipelines:
              titles: { from: lists, select: { fields: { title: after.title } }, to: cache }
            """);
        var server = await RunningServer.StartOnPostgresAsync(postgres.ConnectionString, _schema, redis, _instance, _directory.File("pipelines.yaml"));
        await FlushAsync(server, 0, """{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}""");
        await server.WaitForStatusAsync("titles", status => (string?)status["state"] == "Running" && (long)status["offset"]! >= 1);
        return server;
    }

    private async Task<long?> FenceAsync()
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand($"select fence from \"{_schema}\".pipeline_owners where pipeline = 'titles'", connection);
        return (long?)await query.ExecuteScalarAsync();
    }

    private async Task<string?> StoredFenceAsync(string redis)
    {
        await using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis);
        return await connection.GetDatabase().StringGetAsync($"{_instance}:unbundled:titles:fence");
    }

    /// <summary>Ends this instance's lease sessions (named after it); returns how many there were.</summary>
    private async Task<int> TerminateLeaseSessionAsync()
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var terminate = new NpgsqlCommand(
            "select count(*)::int from (select pg_terminate_backend(pid) from pg_stat_activity a where application_name = $1 and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory')) t",
            connection);
        terminate.Parameters.Add(new() { Value = $"unbundled-lease:{_instance}" });
        return (int)(await terminate.ExecuteScalarAsync())!;
    }

    private static async Task FlushAsync(RunningServer server, int baseVersion, string command)
    {
        using var response = await server.Client.PostAsync("/models/todo-list/groceries/flush",
            new StringContent($$"""{"baseVersion":{{baseVersion}},"commands":[{{command}}]}""", Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
    }

    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;
using Unbundled.Tests.Sources.Postgres;

namespace Unbundled.Tests.Integration;

/// <summary>
/// An aggregate over an existing PostgreSQL table, captured by logical replication: revenue per customer kept
/// right through inserts, an order moving to another customer, the biggest order deleted, and a snapshot first,
/// against the same figures computed by PostgreSQL itself.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresAggregateTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(postgres, nameof(PostgresAggregateTests));
    private readonly TempDirectory _directory = new();

    public async Task InitializeAsync()
    {
        await _db.CreateAsync();
        await _db.ExecuteAsync($"create table \"{_db.Schema}\".orders (id int primary key, customer text not null, total numeric(10,2) not null)");
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Revenue_per_customer_follows_inserts_moves_and_a_deleted_maximum_as_the_database_computes_it()
    {
        var orders = $"\"{_db.Schema}\".orders";
        // Before the pipeline exists: the snapshot reads these.
        await _db.ExecuteAsync($"insert into {orders} values (1, 'ann', 10.50), (2, 'ann', 99.99), (3, 'bob', 5)");
        var pipeline = $"{_db.Pipelines}-revenue";
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              shop:
                connector: postgres
                connection: "{{postgres.ConnectionString}}"
                tables: [ {{_db.Schema}}.orders ]
                heartbeat: 0s
            sinks:
              customers: { connector: redis, key: "customer:{group}" }
            pipelines:
              {{pipeline}}:
                from: shop
                aggregate:
                  group-by: "{after.customer}"
                  fields:
                    orders: count
                    revenue: { sum: after.total }
                    biggest: { max: after.total }
                to: customers
            """, 1);
        await AssertEqualToDatabaseAsync(server, pipeline);

        await _db.ExecuteAsync($"insert into {orders} values (4, 'bob', 20), (5, 'cy', 1.25)");
        await _db.ExecuteAsync($"update {orders} set customer = 'cy' where id = 1");
        await _db.ExecuteAsync($"delete from {orders} where id = 2");
        await AssertEqualToDatabaseAsync(server, pipeline);

        // Ann has no order left: her document goes.
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync($"/views/{pipeline}/customer:ann")).StatusCode);
    }

    /// <summary>Waits until every customer's document equals PostgreSQL's own count, sum and max of their orders.</summary>
    private async Task AssertEqualToDatabaseAsync(RunningServer server, string pipeline)
    {
        var expected = new Dictionary<string, (long Orders, decimal Revenue, decimal Biggest)>();
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var query = new NpgsqlCommand($"select customer, count(*), sum(total), max(total) from \"{_db.Schema}\".orders group by customer", connection);
            await using var reader = await query.ExecuteReaderAsync();
            while (await reader.ReadAsync()) expected[reader.GetString(0)] = (reader.GetInt64(1), reader.GetDecimal(2), reader.GetDecimal(3));
        }
        var mismatch = "";
        for (var attempt = 0; attempt < 150; attempt++)
        {
            mismatch = "";
            foreach (var (customer, (count, revenue, biggest)) in expected)
            {
                using var response = await server.Client.GetAsync($"/views/{pipeline}/customer:{customer}");
                var document = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonObject>())!["document"] : null;
                if (document is null || (long)document["orders"]! != count || (decimal)document["revenue"]! != revenue || (decimal)document["biggest"]! != biggest)
                    mismatch += $"{customer}: expected {count}, {revenue}, {biggest}; the view holds {document?.ToJsonString() ?? "nothing"}\n";
            }
            if (mismatch.Length == 0) return;
            await Task.Delay(100);
        }
        Assert.Fail(mismatch);
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;
using Unbundled.Tests.Sources.Postgres;

namespace Unbundled.Tests.Integration;

/// <summary>
/// A join over two existing PostgreSQL tables, captured by logical replication: each order embeds its customer's
/// row, and stays right through a snapshot, a renamed customer, an order moved to another customer, a deleted
/// customer and a deleted order.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresJoinTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(postgres, nameof(PostgresJoinTests));
    private readonly TempDirectory _directory = new();

    public async Task InitializeAsync()
    {
        await _db.CreateAsync();
        await _db.ExecuteAsync($"create table \"{_db.Schema}\".customers (id int primary key, name text not null)");
        await _db.ExecuteAsync($"create table \"{_db.Schema}\".orders (id int primary key, customer_id int not null, total numeric(10,2) not null)");
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Each_order_embeds_its_customer_and_follows_renames_moves_and_deletes_on_either_side()
    {
        var (customers, orders) = ($"\"{_db.Schema}\".customers", $"\"{_db.Schema}\".orders");
        // Before the pipeline exists: the snapshot reads these.
        await _db.ExecuteAsync($"insert into {customers} values (1, 'Ann'), (2, 'Bob')");
        await _db.ExecuteAsync($"insert into {orders} values (10, 1, 5.00), (11, 2, 7.50)");
        var pipeline = $"{_db.Pipelines}-orders";
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              shop:
                connector: postgres
                connection: "{{postgres.ConnectionString}}"
                tables: [ {{_db.Schema}}.customers, {{_db.Schema}}.orders ]
                heartbeat: 0s
            sinks:
              orders: { connector: redis, key: "order:{id}" }
            pipelines:
              {{pipeline}}:
                from: shop
                join: { table: customers, on: "{after.customer_id}", as: customer }
                to: orders
            """, 1);
        await OrderAsync(server, pipeline, 10, o => (string?)o?["customer"]?["name"] == "Ann");
        await OrderAsync(server, pipeline, 11, o => (string?)o?["customer"]?["name"] == "Bob");

        await _db.ExecuteAsync($"update {customers} set name = 'Anne' where id = 1");
        await _db.ExecuteAsync($"insert into {orders} values (12, 1, 3.25)");
        await OrderAsync(server, pipeline, 10, o => (string?)o?["customer"]?["name"] == "Anne");
        await OrderAsync(server, pipeline, 12, o => (string?)o?["customer"]?["name"] == "Anne" && (decimal?)o["total"] == 3.25m);

        // Order 11 moves to Ann; Bob, left with no order, is deleted; then a deleted customer leaves its orders with none.
        await _db.ExecuteAsync($"update {orders} set customer_id = 1 where id = 11");
        await _db.ExecuteAsync($"delete from {customers} where id = 2");
        await OrderAsync(server, pipeline, 11, o => (string?)o?["customer"]?["name"] == "Anne");
        await _db.ExecuteAsync($"delete from {customers} where id = 1");
        await OrderAsync(server, pipeline, 12, o => o is not null && o["customer"] is null);

        // A deleted order leaves the view, though PostgreSQL sends only its key: the join keeps its last form for the sink's key template.
        await _db.ExecuteAsync($"delete from {orders} where id = 10");
        await OrderAsync(server, pipeline, 10, o => o is null);
    }

    /// <summary>Waits until order <paramref name="id"/>'s document satisfies <paramref name="expected"/> (null: there is none).</summary>
    private static async Task OrderAsync(RunningServer server, string pipeline, int id, Func<JsonObject?, bool> expected)
    {
        JsonObject? document = null;
        for (var attempt = 0; attempt < 150; attempt++)
        {
            using var response = await server.Client.GetAsync($"/views/{pipeline}/order:{id}");
            document = response.StatusCode == HttpStatusCode.NotFound ? null : (await response.Content.ReadFromJsonAsync<JsonObject>())!["document"] as JsonObject;
            if (expected(document)) return;
            await Task.Delay(100);
        }
        Assert.Fail($"order {id} never came to the expected state; it is {document?.ToJsonString() ?? "absent"}; dead letters: {await server.Client.GetStringAsync($"/pipelines/{pipeline}/dead-letters")}");
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;
using Unbundled.Tests.Sources.Kafka;

namespace Unbundled.Tests.Integration;

/// <summary>
/// An aggregate over a Debezium topic (PostgreSQL's envelope, as its connector writes it) on a Kafka-protocol broker
/// with three partitions: revenue per customer right through inserts, an order moving to another customer, the
/// biggest order deleted with its tombstone, and an old change delivered again, which must not move anything back.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class KafkaAggregateTests(KafkaServer kafka) : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    /// <summary>A Debezium PostgreSQL change of row <paramref name="id"/> of <c>orders</c> at <paramref name="lsn"/>: its key and value.</summary>
    private static (string? Key, string? Value) Change(string op, int id, long lsn, (string Customer, decimal Total)? before, (string Customer, decimal Total)? after)
    {
        JsonNode? Row((string Customer, decimal Total)? row) => row is { } r ? new JsonObject { ["id"] = id, ["customer"] = r.Customer, ["total"] = r.Total } : null;
        var value = new JsonObject
        {
            ["before"] = Row(before),
            ["after"] = Row(after),
            ["source"] = new JsonObject { ["connector"] = "postgresql", ["name"] = "shop", ["db"] = "shop", ["schema"] = "public", ["table"] = "orders", ["lsn"] = lsn, ["snapshot"] = false },
            ["op"] = op,
            ["ts_ms"] = 1_764_900_000_000 + lsn,
        };
        return (new JsonObject { ["id"] = id }.ToJsonString(), value.ToJsonString());
    }

    [Fact]
    public async Task Revenue_per_customer_from_a_debezium_topic_follows_moves_deletes_and_ignores_an_old_change_delivered_again()
    {
        var topic = $"shop{Guid.NewGuid():N}"[..14] + ".public.orders";
        await kafka.CreateTopicAsync(topic, 3);
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, $$"""
            sources:
              shop: { connector: kafka, brokers: "{{kafka.Brokers}}", topics: [ "{{topic}}" ], properties: { session.timeout.ms: "6000" } }
            sinks:
              customers: { connector: redis, prefix: "{{topic}}:", key: "customer:{group}" }
            pipelines:
              revenue:
                from: shop
                aggregate:
                  group-by: "{after.customer}"
                  fields:
                    orders: count
                    revenue: { sum: after.total }
                    biggest: { max: after.total }
                to: customers
            """, 1);

        await DebeziumSamples.ProduceAsync(kafka, topic, [
            Change("c", 1, 100, null, ("ann", 10.50m)),
            Change("c", 2, 110, null, ("ann", 99.99m)),
            Change("c", 3, 120, null, ("bob", 5m)),
            Change("c", 4, 130, null, ("bob", 20m)),
            Change("c", 5, 140, null, ("cy", 1.25m)),
        ]);
        await CustomerAsync(server, "ann", (2, 110.49m, 99.99m));

        await DebeziumSamples.ProduceAsync(kafka, topic, [
            Change("u", 1, 150, ("ann", 10.50m), ("cy", 10.50m)),
            Change("d", 2, 160, ("ann", 99.99m), null),
            ("{\"id\":2}", null),
            // Delivered again (a producer's retry, a connector restarted from an older offset): older than what the group holds.
            Change("c", 1, 100, null, ("ann", 10.50m)),
        ]);
        // All nine records read (the offset sums the partitions' next offsets), the redelivery included.
        for (var attempt = 0; attempt < 300 && (long)(await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/revenue"))!["offset"]! < 9; attempt++) await Task.Delay(100);
        Assert.Equal(9, (long)(await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/revenue"))!["offset"]!);
        await CustomerAsync(server, "cy", (2, 11.75m, 10.50m));
        await CustomerAsync(server, "bob", (2, 25m, 20m));
        await CustomerAsync(server, "ann", null);
    }

    /// <summary>Waits until the customer's document holds <paramref name="expected"/> (null: there is none).</summary>
    private static async Task CustomerAsync(RunningServer server, string customer, (long Orders, decimal Revenue, decimal Biggest)? expected)
    {
        JsonNode? document = null;
        for (var attempt = 0; attempt < 300; attempt++)
        {
            using var response = await server.Client.GetAsync($"/views/revenue/customer:{customer}");
            document = response.StatusCode == HttpStatusCode.NotFound ? null : (await response.Content.ReadFromJsonAsync<JsonObject>())!["document"];
            var held = document is null ? ((long, decimal, decimal)?)null : ((long)document["orders"]!, (decimal)document["revenue"]!, (decimal)document["biggest"]!);
            if (held == expected) return;
            await Task.Delay(100);
        }
        Assert.Fail($"{customer}: expected {expected?.ToString() ?? "nothing"}; the view holds {document?.ToJsonString() ?? "nothing"}");
    }
}

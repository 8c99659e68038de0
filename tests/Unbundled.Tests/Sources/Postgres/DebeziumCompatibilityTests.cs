using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Postgres;

/// <summary>
/// Our events for Debezium's documentation's sample table (<c>customers</c>: id, first_name, last_name,
/// email) compared field by field with the envelopes that documentation shows for the same changes.
/// Values that differ from run to run (<c>ts_ms</c>, <c>txId</c>, <c>lsn</c>) are compared by type.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class DebeziumCompatibilityTests(PostgresServer server) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(server, "debezium");

    // The payloads of Debezium's PostgreSQL connector documentation ("create", "update" and, under
    // REPLICA IDENTITY FULL, "delete" events), their schema parts left out, as data.
    private const string Documented = """
        [
          { "before": null,
            "after": { "id": 1, "first_name": "Anne", "last_name": "Kretchmar", "email": "annek@noanswer.org" },
            "source": { "connector": "postgresql", "name": "PostgreSQL_server", "ts_ms": 1559033904863, "snapshot": "false",
                        "db": "postgres", "schema": "public", "table": "customers", "txId": 555, "lsn": 24023128 },
            "op": "c", "ts_ms": 1559033904863 },
          { "before": null,
            "after": { "id": 1, "first_name": "Anne Marie", "last_name": "Kretchmar", "email": "annek@noanswer.org" },
            "source": { "connector": "postgresql", "name": "PostgreSQL_server", "ts_ms": 1559033904863, "snapshot": "false",
                        "db": "postgres", "schema": "public", "table": "customers", "txId": 556, "lsn": 24023128 },
            "op": "u", "ts_ms": 1465584025523 },
          { "before": { "id": 1, "first_name": "Anne Marie", "last_name": "Kretchmar", "email": "annek@noanswer.org" },
            "after": null,
            "source": { "connector": "postgresql", "name": "PostgreSQL_server", "ts_ms": 1559033904863, "snapshot": "false",
                        "db": "postgres", "schema": "public", "table": "customers", "txId": 556, "lsn": 46523128 },
            "op": "d", "ts_ms": 1465581902461 }
        ]
        """;

    public Task InitializeAsync() => _db.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Create_update_and_delete_events_match_debeziums_documented_envelopes_field_by_field()
    {
        await _db.ExecuteAsync("create table customers (id serial primary key, first_name varchar(255) not null, last_name varchar(255) not null, email varchar(255) not null)");
        var source = await _db.SourceAsync(_db.Pipelines + "dbz", tables: "customers");
        var offset = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into customers (first_name, last_name, email) values ('Anne', 'Kretchmar', 'annek@noanswer.org')");
        await _db.ExecuteAsync("update customers set first_name = 'Anne Marie' where id = 1");
        await _db.ExecuteAsync("alter table customers replica identity full");
        await _db.ExecuteAsync("delete from customers where id = 1");
        var (records, _) = await CapturedDatabase.DrainAsync(source, offset);

        var documented = JsonNode.Parse(Documented)!.AsArray();
        Assert.Equal(documented.Count, records.Count);
        for (var i = 0; i < documented.Count; i++)
        {
            var ours = JsonSerializer.SerializeToNode(records[i].Change!)!.AsObject();
            var theirs = documented[i]!.AsObject();
            foreach (var field in new[] { "op", "before", "after" })
                Assert.True(JsonNode.DeepEquals(theirs[field], ours[field]), $"event {i} '{field}': Debezium {theirs[field]?.ToJsonString()}, ours {ours[field]?.ToJsonString()}");
            Assert.Equal(JsonValueKind.Number, ours["ts_ms"]!.GetValueKind());
            var block = ours["source"]!.AsObject();
            foreach (var (name, value) in theirs["source"]!.AsObject())
            {
                Assert.True(block.ContainsKey(name), $"event {i} has no source.{name}");
                Assert.Equal(value!.GetValueKind(), block[name]!.GetValueKind());
            }
            Assert.Equal(("postgresql", _db.Schema, "customers", "false"), ((string)block["connector"]!, (string)block["schema"]!, (string)block["table"]!, (string)block["snapshot"]!));
            Assert.Equal("1", records[i].Key);
        }
        // The version guarding sink writes is the offset: Debezium's lsn field (the commit LSN) shifted left 16 bits plus
        // the change's index in its transaction, so versions grow with the lsn and within a transaction.
        Assert.All(records, r => Assert.Equal(r.Change!.Source.Lsn, r.Change.Source.Version >> 16));
        Assert.Equal(records.Select(r => r.Change!.Source.Version).Order(), records.Select(r => r.Change!.Source.Version).Distinct());
    }
}

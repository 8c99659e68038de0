using System.Text.Json.Nodes;
using Npgsql;
using Unbundled.Sdk.Events;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Postgres;

/// <summary>The postgres source against a real PostgreSQL 15: snapshot and stream together, types, TOAST, refusals, schema changes, big transactions, the slot's life.</summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class PostgresSourceTests(PostgresServer server) : IAsyncLifetime
{
    private readonly CapturedDatabase _db = new(server, "pg_source");

    public Task InitializeAsync() => _db.CreateAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public async Task Rows_written_while_the_snapshot_runs_end_in_the_view_exactly_as_in_the_table()
    {
        await _db.ExecuteAsync("create table orders (id int primary key, status text, total numeric(10,2))");
        await _db.ExecuteAsync("insert into orders select g, 'new', g * 1.5 from generate_series(1, 5000) g");
        var source = await _db.SourceAsync(_db.Pipelines + "snap", o => o.SnapshotChunkSize = 300, tables: "orders");

        // Writers insert, update and delete while the snapshot is read, a page at a time.
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var random = new Random(7);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var id = random.Next(1, 7000);
                await (random.Next(3) switch
                {
                    0 => _db.ExecuteAsync("insert into orders values ($1, 'late', 1) on conflict (id) do update set status = 'upserted'", id),
                    1 => _db.ExecuteAsync("update orders set status = 'paid', total = total + 1 where id = $1", id),
                    _ => _db.ExecuteAsync("delete from orders where id = $1", id),
                });
            }
        });
        var records = new List<Unbundled.Sdk.Sources.SourceRecord>();
        var offset = 0L;
        for (var page = 0; page < 12; page++)
        {
            var batch = await source.ReadAsync(offset, 300, default);
            records.AddRange(batch.Records);
            offset = batch.Offset;
            await Task.Delay(30);
        }
        await stop.CancelAsync();
        await writer;
        var (rest, _) = await CapturedDatabase.DrainAsync(source, offset);
        records.AddRange(rest);

        Assert.Contains(records, r => r.Change!.Op == ChangeOp.Read);
        Assert.Contains(records, r => r.Change!.Op is ChangeOp.Update or ChangeOp.Delete or ChangeOp.Create);
        AssertSame(await _db.RowsAsync("orders"), CapturedDatabase.Fold(records));
    }

    [Fact]
    public async Task Changes_to_one_row_within_one_transaction_reach_the_view_in_their_order()
    {
        await _db.ExecuteAsync("create table carts (id int primary key, state text)");
        await _db.ExecuteAsync("insert into carts values (2, 'old'), (3, 'old')");
        var source = await _db.SourceAsync(_db.Pipelines + "intx", tables: "carts");
        var (snapshot, offset) = await CapturedDatabase.DrainAsync(source, 0);

        // An insert then an update, a delete then the key again (an ORM's replace), an update then a delete.
        await _db.ExecuteAsync("""
            begin;
            insert into carts values (1, 'new'); update carts set state = 'paid' where id = 1;
            delete from carts where id = 2; insert into carts values (2, 'replaced');
            update carts set state = 'gone' where id = 3; delete from carts where id = 3;
            commit;
            """);
        var (stream, _) = await CapturedDatabase.DrainAsync(source, offset);

        Assert.Equal(6, stream.Count);
        AssertSame(await _db.RowsAsync("carts"), CapturedDatabase.Fold([.. snapshot, .. stream]));
    }

    [Fact]
    public async Task A_reader_that_crashes_mid_snapshot_resumes_at_its_last_checkpoint_and_the_view_still_equals_the_table()
    {
        await _db.ExecuteAsync("create table items (id int primary key, name text)");
        await _db.ExecuteAsync("insert into items select g, 'item ' || g from generate_series(1, 3000) g");
        var pipeline = _db.Pipelines + "resume";
        var first = await _db.SourceAsync(pipeline, o => o.SnapshotChunkSize = 500, tables: "items");
        var read = new List<Unbundled.Sdk.Sources.SourceRecord>();
        var offset = 0L;
        for (var i = 0; i < 4; i++)
        {
            var batch = await first.ReadAsync(offset, 400, default);
            read.AddRange(batch.Records);
            offset = batch.Offset;
        }
        // The process dies: the exported snapshot goes with it. Rows change before it comes back.
        await first.DisposeAsync();
        await _db.ExecuteAsync("delete from items where id between 10 and 20");
        await _db.ExecuteAsync("update items set name = 'renamed' where id > 2900");
        await _db.ExecuteAsync("insert into items values (5000, 'new')");

        var second = await _db.SourceAsync(pipeline, o => o.SnapshotChunkSize = 500, tables: "items");
        var (rest, _) = await CapturedDatabase.DrainAsync(second, offset);

        // It went on from the checkpoint at row 1,501, not from the first row.
        Assert.True(rest.Count(r => r.Change!.Op == ChangeOp.Read) < 3000 - 1000, $"{rest.Count} records after the restart: the snapshot started over");
        AssertSame(await _db.RowsAsync("items"), CapturedDatabase.Fold(read.Concat(rest)));
    }

    [Fact]
    public async Task Values_are_typed_json_the_same_way_in_the_snapshot_and_in_the_stream()
    {
        await _db.ExecuteAsync("create type mood as enum ('sad', 'happy')");
        await _db.ExecuteAsync("""
            create table typed (id int primary key, i8 bigint, n numeric(30,10), f float8, fnan float8, b boolean, t text, ts timestamp, tz timestamptz,
                d date, j jsonb, js json, arr int[], tarr text[], u uuid, bin bytea, m mood, nul text)
            """);
        const string values = """
            (1, 9007199254740993, 12345678901234567890.0123456789, 1.5, 'NaN', true, 'héllo "q"', '2024-02-29 13:14:15.123456', '2024-02-29 13:14:15+02',
             '2024-02-29', '{"a": [1, {"b": null}]}', '{"x":1}', '{1,2,NULL}', '{"a,b","c\"d",NULL}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff10', 'happy', null)
            """;
        await _db.ExecuteAsync($"insert into typed values {values}");
        var source = await _db.SourceAsync(_db.Pipelines + "types", tables: "typed");
        var (snapshot, offset) = await CapturedDatabase.DrainAsync(source, 0);
        await _db.ExecuteAsync("delete from typed");
        await _db.ExecuteAsync($"insert into typed values {values}");
        var (streamed, _) = await CapturedDatabase.DrainAsync(source, offset);

        var read = snapshot.Single().Change!.After!;
        var created = streamed.Single(r => r.Change!.Op == ChangeOp.Create).Change!.After!;
        Assert.True(JsonNode.DeepEquals(read, created), $"snapshot {read.ToJsonString()} differs from stream {created.ToJsonString()}");
        var expected = JsonNode.Parse("""
            {"id":1,"i8":9007199254740993,"n":12345678901234567890.0123456789,"f":1.5,"fnan":"NaN","b":true,"t":"héllo \"q\"",
             "ts":"2024-02-29T13:14:15.123456","tz":"2024-02-29T11:14:15Z","d":"2024-02-29","j":{"a":[1,{"b":null}]},"js":{"x":1},
             "arr":[1,2,null],"tarr":["a,b","c\"d",null],"u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","bin":"AP8Q","m":"happy","nul":null}
            """);
        Assert.True(JsonNode.DeepEquals(expected, read), read.ToJsonString());
        // Every digit of the numeric is kept.
        Assert.Equal("12345678901234567890.0123456789", read["n"]!.ToJsonString());
    }

    [Fact]
    public async Task An_update_that_leaves_a_toasted_column_alone_keeps_its_value_rather_than_a_placeholder()
    {
        await _db.ExecuteAsync("create table docs (id int primary key, title text, body text)");
        await _db.ExecuteAsync("alter table docs alter column body set storage external");
        var body = string.Concat(Enumerable.Range(0, 20_000).Select(i => (char)('a' + i % 26)));
        var source = await _db.SourceAsync(_db.Pipelines + "toast", tables: "docs");
        var offset = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into docs values (1, 'first', $1)", body);
        await _db.ExecuteAsync("update docs set title = 'second' where id = 1");

        var (records, _) = await CapturedDatabase.DrainAsync(source, offset);
        var update = records.Single(r => r.Change!.Op == ChangeOp.Update).Change!;
        Assert.Equal("second", (string?)update.After!["title"]);
        Assert.Equal(body, (string?)update.After["body"]);
    }

    [Fact]
    public async Task A_table_without_a_primary_key_or_with_replica_identity_nothing_is_refused_at_start_with_what_to_do()
    {
        await _db.ExecuteAsync("create table loose (a int, b text)");
        await _db.ExecuteAsync("create table silent (id int primary key)");
        await _db.ExecuteAsync("alter table silent replica identity nothing");

        var refused = await Assert.ThrowsAsync<Unbundled.Sdk.ConnectorRefusedException>(() => _db.SourceAsync(_db.Pipelines + "refused", tables: ["loose", "silent", "missing"]));
        Assert.Contains($"{_db.Schema}.loose has no primary key", refused.Message);
        Assert.Contains("key-columns", refused.Message);
        Assert.Contains($"{_db.Schema}.silent has REPLICA IDENTITY NOTHING", refused.Message);
        Assert.Contains($"{_db.Schema}.missing does not exist", refused.Message);

        // Named key columns that may be NULL, or that a replica identity index does not hold, are refused too: a row
        // without its key could be addressed by no sink.
        await _db.ExecuteAsync("alter table loose replica identity full");
        var nullable = await Assert.ThrowsAsync<Unbundled.Sdk.ConnectorRefusedException>(() => _db.SourceAsync(_db.Pipelines + "nullable", o => o.KeyColumns["loose"] = "a", tables: "loose"));
        Assert.Contains("key column 'a'", nullable.Message);
        Assert.Contains("SET NOT NULL", nullable.Message);
        await _db.ExecuteAsync("create table indexed (a int not null, b int not null)");
        await _db.ExecuteAsync("create unique index indexed_a on indexed (a)");
        await _db.ExecuteAsync("alter table indexed replica identity using index indexed_a");
        var unsent = await Assert.ThrowsAsync<Unbundled.Sdk.ConnectorRefusedException>(() => _db.SourceAsync(_db.Pipelines + "unsent", o => o.KeyColumns["indexed"] = "b", tables: "indexed"));
        Assert.Contains("key column 'b'", unsent.Message);
        Assert.Contains("replica identity index", unsent.Message);

        // NOT NULL key columns under REPLICA IDENTITY FULL make the keyless table capturable.
        await _db.ExecuteAsync("alter table loose alter column a set not null");
        var source = await _db.SourceAsync(_db.Pipelines + "keyed", o => o.KeyColumns["loose"] = "a", tables: "loose");
        var offset = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into loose values (7, 'x')");
        await _db.ExecuteAsync("update loose set b = 'y' where a = 7");
        // NOT NULL dropped while streaming: the row without its key is a dead letter, and the stream goes on.
        await _db.ExecuteAsync("alter table loose alter column a drop not null");
        await _db.ExecuteAsync("insert into loose values (null, 'keyless')");
        await _db.ExecuteAsync("insert into loose values (8, 'after')");
        var (records, _) = await CapturedDatabase.DrainAsync(source, offset);
        Assert.Equal([("7", ChangeOp.Create), ("7", ChangeOp.Update), ("", null), ("8", ChangeOp.Create)], records.Select(r => (r.Key, r.Change?.Op)));
        Assert.Equal("x", (string?)records[1].Change!.Before!["b"]);
        Assert.Contains("has no value for its key (a)", records[2].Reason);
        Assert.Contains("keyless", records[2].Raw);
    }

    [Fact]
    public async Task A_column_added_and_one_dropped_mid_stream_show_in_the_next_changes()
    {
        await _db.ExecuteAsync("create table people (id int primary key, name text, nick text)");
        var source = await _db.SourceAsync(_db.Pipelines + "schema", tables: "people");
        var offset = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into people values (1, 'Ann', 'a')");
        await _db.ExecuteAsync("alter table people add column age int");
        await _db.ExecuteAsync("alter table people drop column nick");
        await _db.ExecuteAsync("insert into people values (2, 'Bob', 40)");

        var (records, _) = await CapturedDatabase.DrainAsync(source, offset);
        Assert.Equal("a", (string?)records[0].Change!.After!["nick"]);
        var bob = records[1].Change!.After!.AsObject();
        Assert.Equal(40, (int)bob["age"]!);
        Assert.False(bob.ContainsKey("nick"));
    }

    [Fact]
    public async Task A_transaction_of_100000_rows_streams_through_in_order_and_a_reader_resumes_inside_it()
    {
        await _db.ExecuteAsync("create table bulk (id int primary key, v text)");
        var source = await _db.SourceAsync(_db.Pipelines + "bulk", tables: "bulk");
        var start = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into bulk select g, 'v' || g from generate_series(1, 100000) g");

        var (records, _) = await CapturedDatabase.DrainAsync(source, start, page: 5000);
        Assert.Equal(100_000, records.Count);
        Assert.True(records.Zip(records.Skip(1)).All(p => p.First.Offset < p.Second.Offset));
        Assert.Equal(Enumerable.Range(1, 100_000).Select(i => i.ToString()), records.Select(r => r.Key));

        // Resuming in the middle of the transaction yields exactly its rest.
        var (rest, _) = await CapturedDatabase.DrainAsync(source, records[70_000].Offset, page: 5000);
        Assert.Equal(records.Skip(70_001).Select(r => r.Key), rest.Select(r => r.Key));
    }

    [Fact]
    public async Task An_idle_source_still_moves_its_slot_on_with_heartbeats()
    {
        await _db.ExecuteAsync("create table quiet (id int primary key)");
        await _db.ExecuteAsync("create table noisy (id int primary key, v text)");
        var pipeline = _db.Pipelines + "idle";
        var source = await _db.SourceAsync(pipeline, o => o.Heartbeat = TimeSpan.FromMilliseconds(200), tables: "quiet");
        var offset = await CapturedDatabase.SettleAsync(source);
        var before = await ConfirmedFlushAsync(pipeline);

        // An hour of another application's writes, in little: WAL grows, none of it captured.
        await _db.ExecuteAsync("insert into noisy select g, repeat('x', 200) from generate_series(1, 20000) g");
        var walAfterWrites = await ScalarAsync("select pg_current_wal_lsn()::text");
        for (var i = 0; i < 20; i++)
        {
            var batch = await source.ReadAsync(offset, 100, default);
            Assert.Empty(batch.Records);
            offset = batch.Offset;
            await source.AcknowledgeAsync(offset, default);
            await Task.Delay(100);
        }

        var after = await ConfirmedFlushAsync(pipeline);
        Assert.True(Lsn(after) > Lsn(walAfterWrites), $"the slot stayed at {after} (was {before}) while the WAL reached {walAfterWrites}");
    }

    [Fact]
    public async Task A_dropped_slot_is_said_and_replaced_and_the_view_is_snapshotted_again()
    {
        await _db.ExecuteAsync("create table kept (id int primary key, v text)");
        await _db.ExecuteAsync("insert into kept values (1, 'a'), (2, 'b')");
        var pipeline = _db.Pipelines + "lost";
        var first = await _db.SourceAsync(pipeline, tables: "kept");
        var (read, offset) = await CapturedDatabase.DrainAsync(first, 0, quiet: TimeSpan.FromMilliseconds(300));
        await first.DisposeAsync();

        await ScalarAsync($"select pg_drop_replication_slot('unbundled_{pipeline}_g0')::text");
        await _db.ExecuteAsync("update kept set v = 'changed while lost' where id = 2");
        await _db.ExecuteAsync("insert into kept values (3, 'c')");

        var second = await _db.SourceAsync(pipeline, tables: "kept");
        var (again, _) = await CapturedDatabase.DrainAsync(second, offset);
        Assert.All(again, r => Assert.True(r.Offset > offset));
        Assert.Equal(["1", "2", "3"], again.Where(r => r.Change!.Op == ChangeOp.Read).Select(r => r.Key));
        AssertSame(await _db.RowsAsync("kept"), CapturedDatabase.Fold(read.Concat(again)));
    }

    [Fact]
    public async Task A_slot_lost_while_streaming_is_replaced_and_the_view_snapshotted_again_after_the_offset()
    {
        await _db.ExecuteAsync("create table kept (id int primary key, v text)");
        await _db.ExecuteAsync("insert into kept values (1, 'a')");
        var pipeline = _db.Pipelines + "gone";
        var source = await _db.SourceAsync(pipeline, tables: "kept");
        var (read, offset) = await CapturedDatabase.DrainAsync(source, 0, quiet: TimeSpan.FromMilliseconds(300));

        // The slot is invalidated under a running stream: its walsender ends and the slot is gone.
        await ScalarAsync($"select pg_terminate_backend(active_pid)::text from pg_replication_slots where slot_name = 'unbundled_{pipeline}_g0'");
        // The walsender takes a moment to let the slot go; it is dropped before the source reconnects to it.
        for (var attempt = 0; attempt < 200 && await ScalarAsync($"select count(*)::text from pg_replication_slots where slot_name = 'unbundled_{pipeline}_g0'") != "0"; attempt++)
            await ScalarAsync($"select count(pg_drop_replication_slot(slot_name))::text from pg_replication_slots where slot_name = 'unbundled_{pipeline}_g0' and not active");
        await _db.ExecuteAsync("insert into kept values (2, 'b')");

        var (again, _) = await CapturedDatabase.DrainAsync(source, offset, quiet: TimeSpan.FromSeconds(3));
        Assert.All(again, r => Assert.True(r.Offset > offset));
        Assert.Equal(["1", "2"], again.Where(r => r.Change!.Op == ChangeOp.Read).Select(r => r.Key));
        Assert.Equal("true", (await ((Unbundled.Sdk.Sources.IDescribedSource)source).DescribeAsync(default))["active"]);
        AssertSame(await _db.RowsAsync("kept"), CapturedDatabase.Fold(read.Concat(again)));
    }

    [Fact]
    public async Task Two_pipelines_on_one_table_each_have_a_slot_and_a_slow_one_holds_back_only_its_own()
    {
        await _db.ExecuteAsync("create table shared (id int primary key)");
        var fast = await _db.SourceAsync(_db.Pipelines + "fast", tables: "shared");
        var slow = await _db.SourceAsync(_db.Pipelines + "slow", tables: "shared");
        var fastAt = await CapturedDatabase.SettleAsync(fast);
        var slowAt = await CapturedDatabase.SettleAsync(slow);
        await _db.ExecuteAsync("insert into shared select generate_series(1, 100)");

        // The fast pipeline reads and acknowledges everything; the slow one reads nothing meanwhile.
        var (records, reached) = await CapturedDatabase.DrainAsync(fast, fastAt);
        await fast.AcknowledgeAsync(reached, default);
        Assert.Equal(100, records.Count);
        // The acknowledgement reaches the server in the stream's next status update, not with the call.
        var (fastSlot, slowSlot) = ("", "");
        for (var attempt = 0; attempt < 50; attempt++)
        {
            (fastSlot, slowSlot) = (await ConfirmedFlushAsync(_db.Pipelines + "fast"), await ConfirmedFlushAsync(_db.Pipelines + "slow"));
            if (Lsn(fastSlot) > Lsn(slowSlot)) break;
            await Task.Delay(100);
        }
        Assert.True(Lsn(fastSlot) > Lsn(slowSlot), $"the fast slot ({fastSlot}) did not move past the slow one ({slowSlot})");

        // The slow one then finds every change still there for it.
        var (late, _) = await CapturedDatabase.DrainAsync(slow, slowAt);
        Assert.Equal(records.Select(r => r.Key), late.Select(r => r.Key));
    }

    [Fact]
    public async Task A_table_added_to_a_running_source_is_read_between_watermarks_while_its_rows_change_and_no_older_read_wins()
    {
        await _db.ExecuteAsync("create table first (id int primary key, v text)");
        var pipeline = _db.Pipelines + "added";
        var before = await _db.SourceAsync(pipeline, tables: "first");
        var offset = await CapturedDatabase.SettleAsync(before);
        await before.AcknowledgeAsync(offset, default);
        await before.DisposeAsync();

        // A table is added to the source (pipelines.yaml edited, the server restarted) while writers work on it.
        await _db.ExecuteAsync("create table second (id int primary key, v text)");
        await _db.ExecuteAsync("insert into second select g, 'row ' || g from generate_series(1, 3000) g");
        var source = await _db.SourceAsync(pipeline, o => o.SnapshotChunkSize = 400, tables: ["first", "second"]);
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            var random = new Random(3);
            while (!stop.IsCancellationRequested)
            {
                var id = random.Next(1, 3300);
                await (random.Next(4) switch
                {
                    0 => _db.ExecuteAsync("insert into second values ($1, 'new') on conflict (id) do update set v = 'upserted'", id),
                    1 => _db.ExecuteAsync("update second set v = v || '+' where id = $1", id),
                    2 => _db.ExecuteAsync("delete from second where id = $1", id),
                    _ => _db.ExecuteAsync("insert into first values ($1, 'f') on conflict (id) do update set v = 'f+'", id),
                });
            }
        });
        var records = new List<Unbundled.Sdk.Sources.SourceRecord>();
        var idleSince = DateTime.UtcNow;
        for (var round = 0; DateTime.UtcNow - idleSince < TimeSpan.FromSeconds(2); round++)
        {
            if (round == 60) await stop.CancelAsync();
            var batch = await source.ReadAsync(offset, 300, default);
            if (batch.Offset > offset) idleSince = DateTime.UtcNow;
            records.AddRange(batch.Records);
            offset = batch.Offset;
            await source.AcknowledgeAsync(offset, default);
            await Task.Delay(10);
        }
        await stop.CancelAsync();
        await writer;

        Assert.Contains(records, r => r.Change is { Op: ChangeOp.Read, Source.Table: "second" });
        var view = new Dictionary<(string, string), (long Version, JsonObject? Row)>();
        foreach (var change in records.Select(r => r.Change!))
        {
            var key = (change.Source.Table, change.Key);
            if (view.TryGetValue(key, out var held) && held.Version >= change.Source.Version) continue;
            view[key] = (change.Source.Version, change.Op == ChangeOp.Delete ? null : change.After!.AsObject());
        }
        foreach (var table in new[] { "first", "second" })
            AssertSame(await _db.RowsAsync(table), view.Where(p => p.Key.Item1 == table && p.Value.Row is not null).ToDictionary(p => p.Key.Item2, p => p.Value.Row!));
    }

    [Fact]
    public async Task A_publication_of_its_own_is_used_as_it_is_and_its_other_tables_are_passed_over()
    {
        await _db.ExecuteAsync("create table wanted (id int primary key)");
        await _db.ExecuteAsync("create table other (id int primary key)");
        var publication = $"pub_{_db.Schema}";
        await _db.ExecuteAsync($"create publication {publication} for table wanted, other");
        try
        {
            var source = await _db.SourceAsync(_db.Pipelines + "ownpub", o => o.Publication = publication, tables: "wanted");
            var offset = await CapturedDatabase.SettleAsync(source);
            await _db.ExecuteAsync("insert into other values (1)");
            await _db.ExecuteAsync("insert into wanted values (2)");
            await _db.ExecuteAsync("truncate other");

            var (records, _) = await CapturedDatabase.DrainAsync(source, offset);
            Assert.Equal(["2"], records.Select(r => r.Key));
        }
        finally
        {
            await _db.ExecuteAsync($"drop publication {publication}");
        }
    }

    [Fact]
    public async Task A_truncate_is_a_debezium_truncate_event_and_the_stream_goes_on()
    {
        await _db.ExecuteAsync("create table temp (id int primary key)");
        var source = await _db.SourceAsync(_db.Pipelines + "trunc", tables: "temp");
        var offset = await CapturedDatabase.SettleAsync(source);
        await _db.ExecuteAsync("insert into temp values (1)");
        await _db.ExecuteAsync("truncate temp");
        await _db.ExecuteAsync("insert into temp values (2)");

        var (records, _) = await CapturedDatabase.DrainAsync(source, offset);
        Assert.Equal([ChangeOp.Create, ChangeOp.Truncate, ChangeOp.Create], records.Select(r => r.Change!.Op));
        var truncate = records[1].Change!;
        Assert.Equal(("", _db.Schema, "temp", null, null), (truncate.Key, truncate.Source.Schema, truncate.Source.Table, truncate.Before, truncate.After));
        Assert.Equal("t", System.Text.Json.JsonSerializer.SerializeToNode(truncate)!["op"]!.GetValue<string>());
        Assert.Equal("2", records[2].Key);
    }

    private static void AssertSame(Dictionary<string, JsonObject> table, Dictionary<string, JsonObject> view)
    {
        Assert.Equal(table.Keys.Order(), view.Keys.Order());
        foreach (var (key, row) in table)
        {
            // row_to_json writes numeric(10,2) 3.00 as 3.00 and so does the source; compare as JSON.
            Assert.True(JsonNode.DeepEquals(Normalize(row), Normalize(view[key])), $"row {key}: table {row.ToJsonString()}, view {view[key].ToJsonString()}");
        }
    }

    private static JsonNode Normalize(JsonObject row) => JsonNode.Parse(row.ToJsonString())!;

    private async Task<string> ConfirmedFlushAsync(string pipeline) =>
        await ScalarAsync($"select confirmed_flush_lsn::text from pg_replication_slots where slot_name = 'unbundled_{pipeline}_g0'");

    private async Task<string> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static ulong Lsn(string text) => (ulong)NpgsqlTypes.NpgsqlLogSequenceNumber.Parse(text);
}

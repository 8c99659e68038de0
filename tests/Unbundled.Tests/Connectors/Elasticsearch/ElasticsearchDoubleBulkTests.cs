using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>_bulk: external versions, tombstones, whole-request validation, auto-created indices, 429s (Bulk API and _id field references).</summary>
public sealed class ElasticsearchDoubleBulkTests : ElasticsearchDoubleTests
{
    [Fact]
    public async Task External_versions_refuse_equal_and_older_writes_per_item_and_deletes_leave_a_tombstone()
    {
        var response = await BulkAsync(
            """{"index":{"_index":"t","_id":"a","version":5,"version_type":"external"}}""" + "\n" + """{"n":1}""" + "\n" +
            """{"index":{"_index":"t","_id":"a","version":5,"version_type":"external"}}""" + "\n" + """{"n":2}""" + "\n" +
            """{"delete":{"_index":"t","_id":"a","version":7,"version_type":"external"}}""" + "\n" +
            """{"index":{"_index":"t","_id":"a","version":6,"version_type":"external"}}""" + "\n" + """{"n":3}""" + "\n");

        var body = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.True((bool)body["errors"]!);
        Assert.Equal([201, 409, 200, 409], body["items"]!.AsArray().Select(i => (int)i!.AsObject().First().Value!["status"]!));
        Assert.Equal("version_conflict_engine_exception", (string?)body["items"]![1]!["index"]!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/t/_doc/a")).StatusCode);
    }

    [Fact]
    public async Task Bulk_bodies_must_be_ndjson_ending_with_a_newline()
    {
        var unterminated = await BulkAsync("""{"index":{"_index":"t","_id":"a"}}""" + "\n" + """{"n":1}""");
        var wrongType = await BulkAsync("x\n", "text/plain");

        Assert.Equal(HttpStatusCode.BadRequest, unterminated.StatusCode);
        Assert.Equal("illegal_argument_exception", (string?)(await unterminated.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]);
        Assert.Equal(HttpStatusCode.NotAcceptable, wrongType.StatusCode);
    }

    // _id field reference: at most 512 bytes; the bulk request is validated as a whole before any item runs.
    [Theory]
    [InlineData(513)]
    [InlineData(0)]
    public async Task An_id_that_is_empty_or_over_512_bytes_fails_the_whole_bulk_request(int length)
    {
        var response = await BulkAsync(Index("t", "fine", """{"n":1}""") + Index("t", new string('x', length), """{"n":2}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("action_request_validation_exception", await ErrorTypeAsync(response));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync("/t/_doc/fine")).StatusCode);
    }

    [Fact]
    public async Task An_id_of_512_multibyte_bytes_is_accepted_and_one_more_byte_is_not()
    {
        var fits = await BulkAsync(Index("t", new string('é', 256), """{"n":1}"""));
        var over = await BulkAsync(Index("t", new string('é', 256) + "x", """{"n":1}"""));

        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
    }

    // Index settings reference: index.gc_deletes (60 s by default) is how long a deleted document's version is kept.
    [Fact]
    public async Task A_delete_tombstone_guards_older_versions_only_until_gc_deletes_expires()
    {
        await PutAsync("short", "{}");
        await PutAsync("day", """{"settings":{"index.gc_deletes":"1d"}}""");
        foreach (var index in new[] { "short", "day" })
            await BulkAsync($$$"""{"delete":{"_index":"{{{index}}}","_id":"a","version":5,"version_type":"external"}}""" + "\n");

        Server.AdvanceClock(TimeSpan.FromSeconds(61));
        var stale = """{"index":{"_index":"{0}","_id":"a","version":3,"version_type":"external"}}""" + "\n" + """{"n":3}""" + "\n";
        var shortItem = (await (await BulkAsync(stale.Replace("{0}", "short"))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        var dayItem = (await (await BulkAsync(stale.Replace("{0}", "day"))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;

        Assert.Equal(201, (int)shortItem["status"]!);
        Assert.Equal(409, (int)dayItem["status"]!);
    }

    // Bulk API: a delete creates a missing index only with external versioning, and leaves its tombstone there.
    [Fact]
    public async Task A_delete_on_a_missing_index_creates_it_only_with_an_external_version()
    {
        var plain = (await (await BulkAsync("""{"delete":{"_index":"plain","_id":"a"}}""" + "\n")).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["delete"]!;
        var versioned = (await (await BulkAsync("""{"delete":{"_index":"versioned","_id":"a","version":4,"version_type":"external"}}""" + "\n")).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["delete"]!;
        var older = (await (await BulkAsync("""{"index":{"_index":"versioned","_id":"a","version":2,"version_type":"external"}}""" + "\n{}\n")).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;

        Assert.Equal((404, "index_not_found_exception"), ((int)plain["status"]!, (string?)plain["error"]!["type"]));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/plain"))).StatusCode);
        Assert.Equal((404, "not_found"), ((int)versioned["status"]!, (string?)versioned["result"]));
        Assert.Equal(409, (int)older["status"]!);
    }

    [Fact]
    public async Task Indexing_pressure_refuses_a_whole_request_with_429_and_the_next_one_is_served()
    {
        Server.RejectNextRequests = 1;

        var refused = await BulkAsync(Index("t", "a", "{}"));
        var served = await BulkAsync(Index("t", "a", "{}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("es_rejected_execution_exception", await ErrorTypeAsync(refused));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }
}

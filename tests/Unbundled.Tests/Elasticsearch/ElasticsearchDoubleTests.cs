using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Elasticsearch;

/// <summary>The double's own behaviour, pinned to what Elastic's reference documents, so the connector is tested against the API and not against our guesses.</summary>
public sealed class ElasticsearchDoubleTests : IAsyncLifetime
{
    private ElasticsearchDouble _double = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _double = await ElasticsearchDouble.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_double.Url) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _double.DisposeAsync();
    }

    private Task<HttpResponseMessage> BulkAsync(string body, string contentType = "application/x-ndjson") =>
        _http.PostAsync("/_bulk", new StringContent(body, Encoding.UTF8, contentType));

    [Fact]
    public async Task Every_response_names_the_product()
    {
        var response = await _http.PutAsync("/todos", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal("Elasticsearch", response.Headers.GetValues("X-elastic-product").Single());
    }

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
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/t/_doc/a")).StatusCode);
    }

    [Fact]
    public async Task A_value_that_does_not_fit_the_dynamic_mapping_fails_alone()
    {
        var response = await BulkAsync(
            """{"index":{"_index":"t","_id":"a"}}""" + "\n" + """{"n":1}""" + "\n" +
            """{"index":{"_index":"t","_id":"b"}}""" + "\n" + """{"n":{"nested":true}}""" + "\n");

        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal(201, (int)items[0]!["index"]!["status"]!);
        Assert.Equal((400, "document_parsing_exception"), ((int)items[1]!["index"]!["status"]!, (string?)items[1]!["index"]!["error"]!["type"]));
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

    [Fact]
    public async Task Aliases_resolve_for_writes_and_reads_and_swap_atomically()
    {
        await _http.PutAsync("/v1", new StringContent("""{"aliases":{"view":{}}}""", Encoding.UTF8, "application/json"));
        await _http.PutAsync("/v2", new StringContent("{}", Encoding.UTF8, "application/json"));
        await BulkAsync("""{"index":{"_index":"view","_id":"a"}}""" + "\n" + """{"g":1}""" + "\n");
        await BulkAsync("""{"index":{"_index":"v2","_id":"a"}}""" + "\n" + """{"g":2}""" + "\n");

        var swap = await _http.PostAsync("/_aliases", new StringContent(
            """{"actions":[{"remove":{"index":"v1","alias":"view"}},{"add":{"index":"v2","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        var read = (await _http.GetFromJsonAsync<JsonObject>("/view/_doc/a"))!;

        Assert.Equal(HttpStatusCode.OK, swap.StatusCode);
        Assert.Equal(("v2", 2), ((string?)read["_index"], (int)read["_source"]!["g"]!));
    }

    [Fact]
    public async Task Creating_an_index_twice_or_with_an_invalid_name_fails_with_the_documented_errors()
    {
        await _http.PutAsync("/t", new StringContent("{}", Encoding.UTF8, "application/json"));

        var twice = await _http.PutAsync("/t", new StringContent("{}", Encoding.UTF8, "application/json"));
        var upper = await _http.PutAsync("/Todos", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal("resource_already_exists_exception", (string?)(await twice.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]);
        Assert.Equal("invalid_index_name_exception", (string?)(await upper.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["root_cause"]![0]!["type"]);
    }
}

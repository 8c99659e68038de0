using System.Net;
using System.Net.Http.Headers;
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

    private Task<HttpResponseMessage> PutAsync(string index, string body) =>
        _http.PutAsync($"/{index}", new StringContent(body, Encoding.UTF8, "application/json"));

    private Task<HttpResponseMessage> SearchAsync(string index, string body) =>
        _http.PostAsync($"/{index}/_search", new StringContent(body, Encoding.UTF8, "application/json"));

    private async Task<List<string>> IdsAsync(string index, string body)
    {
        var response = await SearchAsync(index, body);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["hits"]!.AsArray().Select(h => (string)h!["_id"]!).Order().ToList();
    }

    private Task<List<string>> QueryAsync(string index, string query) =>
        IdsAsync(index, new JsonObject { ["query"] = new JsonObject { ["query_string"] = new JsonObject { ["query"] = query } } }.ToJsonString());

    private static async Task<string?> ErrorTypeAsync(HttpResponseMessage response, bool rootCause = false)
    {
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;
        return rootCause ? (string?)error["root_cause"]![0]!["type"] : (string?)error["type"];
    }

    private static string Index(string index, string id, string source) =>
        $$$"""{"index":{"_index":"{{{index}}}","_id":"{{{id}}}"}}""" + "\n" + source + "\n";

    // Near real-time search reference: a write is searchable only after a refresh; get is real-time.
    [Fact]
    public async Task Writes_are_got_at_once_but_searchable_only_after_a_refresh()
    {
        await PutAsync("t", """{"settings":{"index":{"refresh_interval":"-1"}}}""");
        await BulkAsync(Index("t", "a", """{"title":"milk"}"""));

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/t/_doc/a")).StatusCode);
        Assert.Empty(await QueryAsync("t", "milk"));
        (await _http.PostAsync("/t/_refresh", null)).EnsureSuccessStatusCode();
        Assert.Equal(["a"], await QueryAsync("t", "milk"));
    }

    [Fact]
    public async Task A_scheduled_refresh_exposes_writes_once_the_refresh_interval_passed_and_refresh_wait_for_at_once()
    {
        await BulkAsync(Index("t", "a", """{"title":"milk"}"""));
        Assert.Empty(await QueryAsync("t", "milk"));
        _double.AdvanceClock(TimeSpan.FromSeconds(1.5));
        Assert.Equal(["a"], await QueryAsync("t", "milk"));

        await _http.PostAsync("/_bulk?refresh=wait_for", new StringContent(Index("t", "b", """{"title":"milk"}"""), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(["a", "b"], await QueryAsync("t", "milk"));
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
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/t/_doc/fine")).StatusCode);
    }

    [Fact]
    public async Task An_id_of_512_multibyte_bytes_is_accepted_and_one_more_byte_is_not()
    {
        var fits = await BulkAsync(Index("t", new string('é', 256), """{"n":1}"""));
        var over = await BulkAsync(Index("t", new string('é', 256) + "x", """{"n":1}"""));

        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
    }

    // Dynamic field mapping reference: date_detection maps date-like strings to date.
    [Fact]
    public async Task Date_detection_maps_a_date_string_as_a_date_and_refuses_a_later_non_date_in_that_field()
    {
        var response = await BulkAsync(Index("t", "a", """{"due":"2026-12-03T10:00:00Z"}""") + Index("t", "b", """{"due":"tomorrow"}""") + Index("t", "c", """{"note":"tomorrow"}"""));

        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal([201, 400, 201], items.Select(i => (int)i!["index"]!["status"]!));
        Assert.Equal("document_parsing_exception", (string?)items[1]!["index"]!["error"]!["type"]);
    }

    [Fact]
    public async Task Explicit_numeric_fields_coerce_numeric_strings_and_refuse_others()
    {
        await PutAsync("t", """{"mappings":{"properties":{"n":{"type":"long"},"ok":{"type":"boolean"}}}}""");
        var response = await BulkAsync(Index("t", "a", """{"n":"12"}""") + Index("t", "b", """{"n":"twelve"}""") + Index("t", "c", """{"ok":"yes"}"""));

        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal([201, 400, 400], items.Select(i => (int)i!["index"]!["status"]!));
    }

    [Fact]
    public async Task Dynamic_strict_refuses_a_new_field_and_dynamic_false_keeps_it_unsearchable_in_the_source()
    {
        await PutAsync("strict", """{"mappings":{"dynamic":"strict","properties":{"title":{"type":"text"}}}}""");
        await PutAsync("loose", """{"settings":{"refresh_interval":"-1"},"mappings":{"dynamic":false,"properties":{"title":{"type":"text"}}}}""");

        var strict = (await (await BulkAsync(Index("strict", "a", """{"title":"x","extra":1}"""))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        await _http.PostAsync("/_bulk?refresh=true", new StringContent(Index("loose", "a", """{"title":"x","extra":"hidden"}"""), Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal((400, "strict_dynamic_mapping_exception"), ((int)strict["status"]!, (string?)strict["error"]!["type"]));
        Assert.Equal("hidden", (string?)(await _http.GetFromJsonAsync<JsonObject>("/loose/_doc/a"))!["_source"]!["extra"]);
        Assert.Empty(await QueryAsync("loose", "extra:hidden"));
        Assert.Equal(["a"], await QueryAsync("loose", "title:x"));
    }

    [Fact]
    public async Task A_document_that_would_pass_the_total_fields_limit_is_refused_and_maps_nothing()
    {
        await PutAsync("t", """{"settings":{"index.mapping.total_fields.limit":3}}""");
        var response = await BulkAsync(Index("t", "a", """{"a":1,"b":2}""") + Index("t", "b", """{"c":"text and keyword"}""") + Index("t", "c", """{"d":1}"""));

        var items = (await response.Content.ReadFromJsonAsync<JsonObject>())!["items"]!.AsArray();
        Assert.Equal([201, 400, 201], items.Select(i => (int)i!["index"]!["status"]!));
        Assert.Contains("Limit of total fields [3]", (string?)items[1]!["index"]!["error"]!["reason"]);
    }

    [Theory]
    [InlineData("""{"settings":{"index.no_such_setting":1}}""", "illegal_argument_exception")]
    [InlineData("""{"settings":{"gc_deletes":"10"}}""", "illegal_argument_exception")]
    [InlineData("""{"mappings":{"properties":{"n":{"type":"lng"}}}}""", "mapper_parsing_exception")]
    public async Task Index_creation_refuses_unknown_settings_bad_time_values_and_unknown_field_types(string body, string type)
    {
        var response = await PutAsync("t", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(type, await ErrorTypeAsync(response));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/t"))).StatusCode);
    }

    // Paginate search results reference: from + size may not pass index.max_result_window.
    [Fact]
    public async Task A_page_past_the_max_result_window_is_refused()
    {
        await PutAsync("t", """{"settings":{"index.max_result_window":5}}""");

        var over = await SearchAsync("t", """{"from":3,"size":3}""");
        var fits = await SearchAsync("t", """{"from":2,"size":3}""");

        Assert.Equal(HttpStatusCode.BadRequest, over.StatusCode);
        Assert.Equal("illegal_argument_exception", await ErrorTypeAsync(over, rootCause: true));
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    // Search API reference: track_total_hits counts accurately up to its value, then reports a lower bound.
    [Fact]
    public async Task Totals_past_track_total_hits_are_a_lower_bound()
    {
        await _http.PostAsync("/_bulk?refresh=true", new StringContent(string.Concat(Enumerable.Range(0, 12).Select(i => Index("t", $"d{i}", """{"title":"milk"}"""))), Encoding.UTF8, "application/x-ndjson"));

        var capped = (await (await SearchAsync("t", """{"track_total_hits":5,"size":0}""")).Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["total"]!;
        var exact = (await (await SearchAsync("t", """{"size":0}""")).Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["total"]!;

        Assert.Equal((5, "gte"), ((int)capped["value"]!, (string?)capped["relation"]));
        Assert.Equal((12, "eq"), ((int)exact["value"]!, (string?)exact["relation"]));
    }

    // Query string query reference: default_operator OR, boolean operators, phrases, fields, wildcards, grouping.
    [Fact]
    public async Task Query_string_follows_the_documented_syntax()
    {
        await _http.PostAsync("/_bulk?refresh=true", new StringContent(
            Index("t", "a", """{"title":"Buy fresh milk","list":"home","done":false}""") +
            Index("t", "b", """{"title":"Milk the cows","list":"farm","done":true}""") +
            Index("t", "c", """{"title":"Call the plumber","list":"home","done":false}"""), Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(["a", "b", "c"], await QueryAsync("t", "milk plumber"));
        Assert.Equal(["a"], await QueryAsync("t", "milk AND list:home"));
        Assert.Equal(["a"], await QueryAsync("t", "+milk -cows"));
        Assert.Equal(["b", "c"], await QueryAsync("t", "NOT fresh"));
        Assert.Equal(["a"], await QueryAsync("t", "title:\"fresh milk\""));
        Assert.Empty(await QueryAsync("t", "title:\"milk fresh\""));
        Assert.Equal(["a", "c"], await QueryAsync("t", "list.keyword:home"));
        Assert.Empty(await QueryAsync("t", "list.keyword:Home"));
        Assert.Equal(["c"], await QueryAsync("t", "title:plumb*"));
        Assert.Equal(["b", "c"], await QueryAsync("t", "(cows OR plumber) AND NOT fresh"));
        Assert.Equal(["b"], await QueryAsync("t", "done:true"));
    }

    [Theory]
    [InlineData("title:(milk")]
    [InlineData("milk AND")]
    [InlineData("AND milk")]
    [InlineData("\"milk")]
    public async Task Query_strings_lucene_cannot_parse_fail_with_a_query_shard_exception(string query)
    {
        await BulkAsync(Index("t", "a", """{"title":"milk"}"""));

        var response = await SearchAsync("t", new JsonObject { ["query"] = new JsonObject { ["query_string"] = new JsonObject { ["query"] = query } } }.ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("query_shard_exception", await ErrorTypeAsync(response, rootCause: true));
    }

    // Aliases reference: one alias over several indices; single-document operations need one index or a write index.
    [Fact]
    public async Task An_alias_over_two_indices_searches_both_refuses_single_document_reads_and_writes_only_through_a_write_index()
    {
        await PutAsync("v1", """{"aliases":{"view":{}}}""");
        await PutAsync("v2", "{}");
        await _http.PostAsync("/_bulk?refresh=true", new StringContent(Index("v1", "a", """{"t":"x"}""") + Index("v2", "b", """{"t":"x"}"""), Encoding.UTF8, "application/x-ndjson"));
        await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v2","alias":"view"}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(["a", "b"], await QueryAsync("view", "x"));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync("/view/_doc/a")).StatusCode);
        var noWriteIndex = (await (await BulkAsync(Index("view", "c", """{"t":"x"}"""))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        Assert.Equal(400, (int)noWriteIndex["status"]!);

        await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v2","alias":"view","is_write_index":true}}]}""", Encoding.UTF8, "application/json"));
        var written = (await (await BulkAsync(Index("view", "c", """{"t":"x"}"""))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        Assert.Equal(("v2", 201), ((string?)written["_index"], (int)written["status"]!));
    }

    [Fact]
    public async Task Remove_detaches_only_the_named_index_and_remove_index_deletes_it_with_the_other_actions()
    {
        await PutAsync("v1", """{"aliases":{"view":{}}}""");
        await PutAsync("v2", """{"aliases":{"view":{}}}""");
        await PutAsync("v3", "{}");

        var removed = await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"remove":{"index":"v1","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal(["v2"], (await _http.GetFromJsonAsync<JsonObject>("/_alias/view"))!.Select(p => p.Key));

        var swapped = await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v3","alias":"view"}},{"remove_index":{"index":"v2"}}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, swapped.StatusCode);
        Assert.Equal(["v3"], (await _http.GetFromJsonAsync<JsonObject>("/_alias/view"))!.Select(p => p.Key));
        Assert.Equal(HttpStatusCode.NotFound, (await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2"))).StatusCode);
    }

    [Fact]
    public async Task Alias_actions_apply_all_or_none_and_names_may_not_clash_between_aliases_and_indices()
    {
        await PutAsync("v1", "{}");
        await PutAsync("other", "{}");

        var failing = await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"view"}},{"remove":{"index":"v1","alias":"missing"}}]}""", Encoding.UTF8, "application/json"));
        var aliasLikeIndex = await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"other"}}]}""", Encoding.UTF8, "application/json"));
        await _http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        var indexLikeAlias = await PutAsync("view", "{}");

        Assert.Equal(HttpStatusCode.NotFound, failing.StatusCode);
        Assert.Equal("aliases_not_found_exception", await ErrorTypeAsync(failing));
        Assert.Equal("invalid_alias_name_exception", await ErrorTypeAsync(aliasLikeIndex));
        Assert.Equal("invalid_index_name_exception", await ErrorTypeAsync(indexLikeAlias));
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.DeleteAsync("/view")).StatusCode);
    }

    // Index settings reference: index.gc_deletes (60 s by default) is how long a deleted document's version is kept.
    [Fact]
    public async Task A_delete_tombstone_guards_older_versions_only_until_gc_deletes_expires()
    {
        await PutAsync("short", "{}");
        await PutAsync("day", """{"settings":{"index.gc_deletes":"1d"}}""");
        foreach (var index in new[] { "short", "day" })
            await BulkAsync($$$"""{"delete":{"_index":"{{{index}}}","_id":"a","version":5,"version_type":"external"}}""" + "\n");

        _double.AdvanceClock(TimeSpan.FromSeconds(61));
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
        Assert.Equal(HttpStatusCode.NotFound, (await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/plain"))).StatusCode);
        Assert.Equal((404, "not_found"), ((int)versioned["status"]!, (string?)versioned["result"]));
        Assert.Equal(409, (int)older["status"]!);
    }

    [Fact]
    public async Task Indexing_pressure_refuses_a_whole_request_with_429_and_the_next_one_is_served()
    {
        _double.RejectNextRequests = 1;

        var refused = await BulkAsync(Index("t", "a", "{}"));
        var served = await BulkAsync(Index("t", "a", "{}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal("es_rejected_execution_exception", await ErrorTypeAsync(refused));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    // REST API compatibility reference: the official clients send vendored media types with compatible-with.
    [Fact]
    public async Task The_official_clients_vendored_media_types_are_accepted_and_answered_in_kind()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/_bulk") { Content = new StringContent(Index("t", "a", "{}"), Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.elasticsearch+x-ndjson; compatible-with=9");
        request.Headers.Accept.ParseAdd("application/vnd.elasticsearch+json; compatible-with=9");

        var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/vnd.elasticsearch+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("Elasticsearch", response.Headers.GetValues("X-elastic-product").Single());
    }

    [Theory]
    [InlineData("application/vnd.elasticsearch+x-ndjson; compatible-with=7", "application/vnd.elasticsearch+json; compatible-with=7")]
    [InlineData("application/vnd.elasticsearch+x-ndjson; compatible-with=9", "application/vnd.elasticsearch+json; compatible-with=8")]
    [InlineData("application/vnd.elasticsearch+x-ndjson", "application/json")]
    public async Task Unsupported_or_mismatched_compatible_with_versions_are_refused(string contentType, string accept)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/_bulk") { Content = new StringContent(Index("t", "a", "{}"), Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Accept.ParseAdd(accept);

        var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("media_type_header_exception", await ErrorTypeAsync(response));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>Mappings and index settings: dynamic mapping, explicit types, strictness, the field limit, creation refusals (Mapping and Index modules references).</summary>
public sealed class ElasticsearchDoubleMappingTests : ElasticsearchDoubleTests
{
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
        await Http.PostAsync("/_bulk?refresh=true", new StringContent(Index("loose", "a", """{"title":"x","extra":"hidden"}"""), Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal((400, "strict_dynamic_mapping_exception"), ((int)strict["status"]!, (string?)strict["error"]!["type"]));
        Assert.Equal("hidden", (string?)(await Http.GetFromJsonAsync<JsonObject>("/loose/_doc/a"))!["_source"]!["extra"]);
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
        Assert.Equal(HttpStatusCode.NotFound, (await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/t"))).StatusCode);
    }

    [Fact]
    public async Task Creating_an_index_twice_or_with_an_invalid_name_fails_with_the_documented_errors()
    {
        await Http.PutAsync("/t", new StringContent("{}", Encoding.UTF8, "application/json"));

        var twice = await Http.PutAsync("/t", new StringContent("{}", Encoding.UTF8, "application/json"));
        var upper = await Http.PutAsync("/Todos", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal("resource_already_exists_exception", (string?)(await twice.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["type"]);
        Assert.Equal("invalid_index_name_exception", (string?)(await upper.Content.ReadFromJsonAsync<JsonObject>())!["error"]!["root_cause"]![0]!["type"]);
    }
}

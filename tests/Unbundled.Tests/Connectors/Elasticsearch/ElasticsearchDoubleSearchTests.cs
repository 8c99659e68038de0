using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>Search: near-real-time visibility, result windows, totals and the query_string syntax (Search API and Query string references).</summary>
public sealed class ElasticsearchDoubleSearchTests : ElasticsearchDoubleTests
{
    // Near real-time search reference: a write is searchable only after a refresh; get is real-time.
    [Fact]
    public async Task Writes_are_got_at_once_but_searchable_only_after_a_refresh()
    {
        await PutAsync("t", """{"settings":{"index":{"refresh_interval":"-1"}}}""");
        await BulkAsync(Index("t", "a", """{"title":"milk"}"""));

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/t/_doc/a")).StatusCode);
        Assert.Empty(await QueryAsync("t", "milk"));
        (await Http.PostAsync("/t/_refresh", null)).EnsureSuccessStatusCode();
        Assert.Equal(["a"], await QueryAsync("t", "milk"));
    }

    [Fact]
    public async Task A_scheduled_refresh_exposes_writes_once_the_refresh_interval_passed_and_refresh_wait_for_at_once()
    {
        await BulkAsync(Index("t", "a", """{"title":"milk"}"""));
        Assert.Empty(await QueryAsync("t", "milk"));
        Server.AdvanceClock(TimeSpan.FromSeconds(1.5));
        Assert.Equal(["a"], await QueryAsync("t", "milk"));

        await Http.PostAsync("/_bulk?refresh=wait_for", new StringContent(Index("t", "b", """{"title":"milk"}"""), Encoding.UTF8, "application/x-ndjson"));
        Assert.Equal(["a", "b"], await QueryAsync("t", "milk"));
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
        await Http.PostAsync("/_bulk?refresh=true", new StringContent(string.Concat(Enumerable.Range(0, 12).Select(i => Index("t", $"d{i}", """{"title":"milk"}"""))), Encoding.UTF8, "application/x-ndjson"));

        var capped = (await (await SearchAsync("t", """{"track_total_hits":5,"size":0}""")).Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["total"]!;
        var exact = (await (await SearchAsync("t", """{"size":0}""")).Content.ReadFromJsonAsync<JsonObject>())!["hits"]!["total"]!;

        Assert.Equal((5, "gte"), ((int)capped["value"]!, (string?)capped["relation"]));
        Assert.Equal((12, "eq"), ((int)exact["value"]!, (string?)exact["relation"]));
    }

    // Query string query reference: default_operator OR, boolean operators, phrases, fields, wildcards, grouping.
    [Fact]
    public async Task Query_string_follows_the_documented_syntax()
    {
        await Http.PostAsync("/_bulk?refresh=true", new StringContent(
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
}

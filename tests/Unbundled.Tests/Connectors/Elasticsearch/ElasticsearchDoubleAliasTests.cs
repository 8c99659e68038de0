using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>Aliases: over several indices, write indices, atomic actions, name clashes (Aliases reference).</summary>
public sealed class ElasticsearchDoubleAliasTests : ElasticsearchDoubleTests
{
    [Fact]
    public async Task Aliases_resolve_for_writes_and_reads_and_swap_atomically()
    {
        await Http.PutAsync("/v1", new StringContent("""{"aliases":{"view":{}}}""", Encoding.UTF8, "application/json"));
        await Http.PutAsync("/v2", new StringContent("{}", Encoding.UTF8, "application/json"));
        await BulkAsync("""{"index":{"_index":"view","_id":"a"}}""" + "\n" + """{"g":1}""" + "\n");
        await BulkAsync("""{"index":{"_index":"v2","_id":"a"}}""" + "\n" + """{"g":2}""" + "\n");

        var swap = await Http.PostAsync("/_aliases", new StringContent(
            """{"actions":[{"remove":{"index":"v1","alias":"view"}},{"add":{"index":"v2","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        var read = (await Http.GetFromJsonAsync<JsonObject>("/view/_doc/a"))!;

        Assert.Equal(HttpStatusCode.OK, swap.StatusCode);
        Assert.Equal(("v2", 2), ((string?)read["_index"], (int)read["_source"]!["g"]!));
    }

    // Aliases reference: one alias over several indices; single-document operations need one index or a write index.
    [Fact]
    public async Task An_alias_over_two_indices_searches_both_refuses_single_document_reads_and_writes_only_through_a_write_index()
    {
        await PutAsync("v1", """{"aliases":{"view":{}}}""");
        await PutAsync("v2", "{}");
        await Http.PostAsync("/_bulk?refresh=true", new StringContent(Index("v1", "a", """{"t":"x"}""") + Index("v2", "b", """{"t":"x"}"""), Encoding.UTF8, "application/x-ndjson"));
        await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v2","alias":"view"}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(["a", "b"], await QueryAsync("view", "x"));
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.GetAsync("/view/_doc/a")).StatusCode);
        var noWriteIndex = (await (await BulkAsync(Index("view", "c", """{"t":"x"}"""))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        Assert.Equal(400, (int)noWriteIndex["status"]!);

        await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v2","alias":"view","is_write_index":true}}]}""", Encoding.UTF8, "application/json"));
        var written = (await (await BulkAsync(Index("view", "c", """{"t":"x"}"""))).Content.ReadFromJsonAsync<JsonObject>())!["items"]![0]!["index"]!;
        Assert.Equal(("v2", 201), ((string?)written["_index"], (int)written["status"]!));
    }

    [Fact]
    public async Task Remove_detaches_only_the_named_index_and_remove_index_deletes_it_with_the_other_actions()
    {
        await PutAsync("v1", """{"aliases":{"view":{}}}""");
        await PutAsync("v2", """{"aliases":{"view":{}}}""");
        await PutAsync("v3", "{}");

        var removed = await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"remove":{"index":"v1","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal(["v2"], (await Http.GetFromJsonAsync<JsonObject>("/_alias/view"))!.Select(p => p.Key));

        var swapped = await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v3","alias":"view"}},{"remove_index":{"index":"v2"}}]}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, swapped.StatusCode);
        Assert.Equal(["v3"], (await Http.GetFromJsonAsync<JsonObject>("/_alias/view"))!.Select(p => p.Key));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2"))).StatusCode);
    }

    [Fact]
    public async Task Alias_actions_apply_all_or_none_and_names_may_not_clash_between_aliases_and_indices()
    {
        await PutAsync("v1", "{}");
        await PutAsync("other", "{}");

        var failing = await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"view"}},{"remove":{"index":"v1","alias":"missing"}}]}""", Encoding.UTF8, "application/json"));
        var aliasLikeIndex = await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"other"}}]}""", Encoding.UTF8, "application/json"));
        await Http.PostAsync("/_aliases", new StringContent("""{"actions":[{"add":{"index":"v1","alias":"view"}}]}""", Encoding.UTF8, "application/json"));
        var indexLikeAlias = await PutAsync("view", "{}");

        Assert.Equal(HttpStatusCode.NotFound, failing.StatusCode);
        Assert.Equal("aliases_not_found_exception", await ErrorTypeAsync(failing));
        Assert.Equal("invalid_alias_name_exception", await ErrorTypeAsync(aliasLikeIndex));
        Assert.Equal("invalid_index_name_exception", await ErrorTypeAsync(indexLikeAlias));
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.DeleteAsync("/view")).StatusCode);
    }
}

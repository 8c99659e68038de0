using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Unbundled.Connectors.Elasticsearch;
using Unbundled.Connectors.Elasticsearch.Bulk;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Testing;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// The sink contract on Elasticsearch: a real cluster whenever ELASTICSEARCH_URL is set, else the
/// strict double (no Elasticsearch server can be had on these machines).
/// </summary>
public sealed class ElasticsearchSinkContractTests : GenerationalSinkContract, IAsyncLifetime
{
    private ElasticsearchDouble? _double;
    private string _url = "";

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("ELASTICSEARCH_URL") is { Length: > 0 } cluster)
        {
            _url = cluster;
            return;
        }
        _double = await ElasticsearchDouble.StartAsync();
        _url = _double.Url;
    }

    protected override async Task<IGenerationalSink> CreateGenerationAsync(string pipeline, int generation)
    {
        var options = new ElasticsearchOptions { Url = _url, Index = "{pipeline}" };
        var sink = new ElasticsearchSink(pipeline, options, ElasticsearchClients.Create(options), generation);
        await sink.ConnectAsync(default);
        return sink;
    }

    protected override async Task LoseDataAsync(string pipeline)
    {
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        (await http.DeleteAsync($"/{pipeline}-000001")).EnsureSuccessStatusCode();
    }

    /// <summary>A GET through the alias, as any Elasticsearch client reads the view.</summary>
    protected override async Task<JsonObject?> ReadActiveAsync(string pipeline, string key)
    {
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        using var response = await http.GetAsync($"/{pipeline}/_doc/{Uri.EscapeDataString(key)}");
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound) return null;
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["_source"]!.AsObject();
    }

    public async Task DisposeAsync()
    {
        if (_double is not null) await _double.DisposeAsync();
    }
}

/// <summary>
/// The connector's own behaviour: against a real cluster whenever ELASTICSEARCH_URL is set, else the
/// strict double; the cases that need the double's fault knobs are skipped on a real cluster.
/// </summary>
public sealed class ElasticsearchSinkTests : IAsyncLifetime
{
    private readonly string _index = $"todos-{Guid.NewGuid():N}"[..20];
    private ElasticsearchDouble? _double;
    private string _url = "";
    private ElasticsearchSink _sink = null!;

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("ELASTICSEARCH_URL") is { Length: > 0 } cluster) _url = cluster;
        else
        {
            _double = await ElasticsearchDouble.StartAsync();
            _url = _double.Url;
        }
        // No scheduled refresh: a search that finds a fresh write proves the connector refreshed.
        var options = new ElasticsearchOptions { Url = _url, Index = _index, BulkSize = 100, Definition = """{"settings":{"index.refresh_interval":"-1"}}""" };
        _sink = new ElasticsearchSink(_index, options, ElasticsearchClients.Create(options));
        await _sink.ConnectAsync(default);
    }

    public async Task DisposeAsync()
    {
        await _sink.DropAsync(default);
        if (_double is not null) await _double.DisposeAsync();
    }

    private ElasticsearchDouble Faults()
    {
        Skip.If(_double is null, "fault injection needs the double; a real cluster cannot be told to refuse");
        return _double!;
    }

    private static SinkDocument Todo(int i, JsonNode? n = null) =>
        SinkDocument.Upsert($"t{i}", 1, i, new JsonObject { ["title"] = $"todo number {i}", ["n"] = n ?? i });

    [Fact]
    public async Task One_bad_document_in_a_batch_of_500_is_refused_with_its_reason_and_the_other_499_are_indexed()
    {
        var documents = Enumerable.Range(1, 500).Select(i => i == 250 ? Todo(i, new JsonObject { ["not"] = "a number" }) : Todo(i)).ToList();

        var result = await _sink.WriteAsync(new SinkBatch(_index, documents, 500), default);

        var rejection = Assert.Single(result.Rejected);
        Assert.Equal("t250", rejection.Document.Key);
        Assert.StartsWith("Elasticsearch refused it with 400 document_parsing_exception", rejection.Reason);
        Assert.NotNull(await _sink.ReadAsync("t1", default));
        Assert.NotNull(await _sink.ReadAsync("t500", default));
        Assert.Null(await _sink.ReadAsync("t250", default));
    }

    [Fact]
    public async Task A_key_over_512_bytes_is_dead_lettered_with_its_reason_and_the_rest_of_the_batch_lands()
    {
        var documents = Enumerable.Range(1, 20).Select(i => Todo(i)).Append(SinkDocument.Upsert(new string('k', 600), 1, 21, new JsonObject { ["title"] = "long" })).ToList();

        var result = await _sink.WriteAsync(new SinkBatch(_index, documents, 21), default);

        var rejection = Assert.Single(result.Rejected);
        Assert.Equal(600, rejection.Document.Key.Length);
        Assert.Contains("512", rejection.Reason);
        Assert.Equal(20, (await _sink.SearchAsync(new("todo", 100), default)).Total);
    }

    [SkippableFact]
    public async Task A_whole_request_refused_for_one_document_is_split_until_that_document_stands_alone()
    {
        // A validation rule of the cluster's that the connector cannot check beforehand.
        Faults().InvalidIds.Add("t7");
        var documents = Enumerable.Range(1, 16).Select(i => Todo(i)).ToList();

        var result = await _sink.WriteAsync(new SinkBatch(_index, documents, 16), default);

        var rejection = Assert.Single(result.Rejected);
        Assert.Equal("t7", rejection.Document.Key);
        Assert.Contains("action_request_validation_exception", rejection.Reason);
        Assert.Equal(15, (await _sink.SearchAsync(new("todo", 100), default)).Total);
    }

    [SkippableFact]
    public async Task Items_refused_for_now_make_the_batch_retry_and_the_retry_lands_everything_once()
    {
        var faults = Faults();
        var batch = new SinkBatch(_index, Enumerable.Range(1, 10).Select(i => Todo(i)).ToList(), 10);
        faults.RejectNextItems = 3;

        await Assert.ThrowsAsync<SinkUnavailableException>(() => _sink.WriteAsync(batch, default));
        var retried = await _sink.WriteAsync(batch, default);

        Assert.Empty(retried.Rejected);
        Assert.Equal(10, (await _sink.SearchAsync(new("todo", 100), default)).Total);
    }

    [SkippableFact]
    public async Task A_whole_request_refused_under_indexing_pressure_makes_the_batch_retry()
    {
        var faults = Faults();
        var batch = new SinkBatch(_index, Enumerable.Range(1, 10).Select(i => Todo(i)).ToList(), 10);
        faults.RejectNextRequests = 1;

        await Assert.ThrowsAsync<SinkUnavailableException>(() => _sink.WriteAsync(batch, default));
        var retried = await _sink.WriteAsync(batch, default);

        Assert.Empty(retried.Rejected);
        Assert.Equal(10, (await _sink.SearchAsync(new("todo", 100), default)).Total);
    }

    [Fact]
    public async Task A_search_after_a_write_finds_it_although_search_is_near_real_time()
    {
        await _sink.WriteAsync(new SinkBatch(_index, [Todo(1)], 1), default);
        Assert.Equal(1, (await _sink.SearchAsync(new("todo", 10), default)).Total);

        await _sink.WriteAsync(new SinkBatch(_index, [Todo(2)], 2), default);
        Assert.Equal(2, (await _sink.SearchAsync(new("todo", 10), default)).Total);
    }

    [Fact]
    public async Task Searches_pass_a_query_string_through_and_bad_queries_are_refused()
    {
        await _sink.WriteAsync(new SinkBatch(_index, [Todo(1), Todo(2)], 2), default);

        var found = await _sink.SearchAsync(new("title:number", 10), default);
        var error = await Assert.ThrowsAsync<InvalidQueryException>(() => _sink.SearchAsync(new("title:(number", 10), default));

        Assert.Equal(2, found.Total);
        Assert.Contains("query_shard_exception", error.Message);
    }

    [Fact]
    public async Task The_view_is_an_alias_over_an_index_created_with_a_day_of_gc_deletes()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        var aliased = (await http.GetFromJsonAsync<JsonObject>($"/_alias/{_index}"))!;
        var concrete = Assert.Single(aliased).Key;
        var settings = (await http.GetFromJsonAsync<JsonObject>($"/{concrete}/_settings"))!;

        Assert.Equal($"{_index}-000001", concrete);
        Assert.Equal("1d", (string?)settings[concrete]!["settings"]!["index"]!["gc_deletes"]);
    }

    [Fact]
    public async Task Activating_a_generation_whose_alias_was_removed_by_hand_points_a_new_alias_at_it()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_url) };
        var remove = new JsonObject { ["actions"] = new JsonArray(new JsonObject { ["remove"] = new JsonObject { ["index"] = $"{_index}-000001", ["alias"] = _index } }) };
        (await http.PostAsJsonAsync("/_aliases", remove)).EnsureSuccessStatusCode();

        await _sink.ActivateAsync(default);

        var aliased = (await http.GetFromJsonAsync<JsonObject>($"/_alias/{_index}"))!;
        Assert.Equal($"{_index}-000001", Assert.Single(aliased).Key);
    }

    [SkippableFact]
    public async Task A_replayed_older_write_cannot_resurrect_a_deleted_document_after_the_default_60_s_of_gc_deletes()
    {
        var clock = Faults();
        await _sink.WriteAsync(new SinkBatch(_index, [SinkDocument.Upsert("a", 1, 1, new JsonObject { ["title"] = "x" })], 1), default);
        await _sink.WriteAsync(new SinkBatch(_index, [SinkDocument.Delete("a", 3, 3)], 3), default);

        clock.AdvanceClock(TimeSpan.FromMinutes(10));
        await _sink.WriteAsync(new SinkBatch(_index, [SinkDocument.Upsert("a", 2, 2, new JsonObject { ["title"] = "replayed" })], 3), default);

        Assert.Null(await _sink.ReadAsync("a", default));
    }

    [Fact]
    public async Task Keys_that_a_url_must_escape_are_written_and_read_back_by_key()
    {
        string[] keys = ["list:1/items 2", "ä?b#c%d&e+f", "a\"b\\c"];
        var documents = keys.Select((key, i) => SinkDocument.Upsert(key, 1, i + 1, new JsonObject { ["title"] = key })).ToList();

        var result = await _sink.WriteAsync(new SinkBatch(_index, documents, documents.Count), default);

        Assert.Empty(result.Rejected);
        foreach (var key in keys) Assert.Equal(key, (string?)(await _sink.ReadAsync(key, default))?["title"]);
    }

    [Fact]
    public void The_bulk_body_carries_the_model_version_as_an_external_version()
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        BulkRequestWriter.Write("todos", [Todo(1), SinkDocument.Delete("t2", 9, 9)], body);

        Assert.Equal(
            """{"index":{"_index":"todos","_id":"t1","version":1,"version_type":"external"}}""" + "\n" +
            """{"title":"todo number 1","n":1}""" + "\n" +
            """{"delete":{"_index":"todos","_id":"t2","version":9,"version_type":"external"}}""" + "\n",
            System.Text.Encoding.UTF8.GetString(body.WrittenSpan));
    }

    [Fact]
    public void Ids_that_need_escaping_are_escaped_in_the_action_line()
    {
        var body = new System.Buffers.ArrayBufferWriter<byte>();
        BulkRequestWriter.Write("todos", [SinkDocument.Delete("a\"b\\c:é", 2, 2)], body);

        var action = System.Text.Json.Nodes.JsonNode.Parse(System.Text.Encoding.UTF8.GetString(body.WrittenSpan).TrimEnd('\n'))!;
        Assert.Equal("a\"b\\c:é", (string?)action["delete"]!["_id"]);
    }
}

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>The double's nodes and security: several nodes answer from one cluster state, and required credentials are enforced (Security reference).</summary>
public sealed class ElasticsearchDoubleConnectionTests : IAsyncLifetime
{
    private ElasticsearchDouble _cluster = null!;

    public async Task InitializeAsync() => _cluster = await ElasticsearchDouble.StartAsync(nodes: 2);

    public async Task DisposeAsync() => await _cluster.DisposeAsync();

    [Fact]
    public async Task A_document_written_through_one_node_is_read_through_the_other_and_each_node_counts_its_requests()
    {
        using var first = new HttpClient { BaseAddress = new Uri(_cluster.Urls[0]) };
        using var second = new HttpClient { BaseAddress = new Uri(_cluster.Urls[1]) };

        (await first.PostAsync("/_bulk", new StringContent("""{"index":{"_index":"t","_id":"a"}}""" + "\n{}\n", Encoding.UTF8, "application/x-ndjson"))).EnsureSuccessStatusCode();
        var read = await second.GetFromJsonAsync<JsonObject>("/t/_doc/a");

        Assert.NotEqual(_cluster.Urls[0], _cluster.Urls[1]);
        Assert.True((bool)read!["found"]!);
        Assert.Equal(1, _cluster.RequestsAt(_cluster.Urls[0]));
        Assert.Equal(1, _cluster.RequestsAt(_cluster.Urls[1]));
    }

    [Fact]
    public async Task With_security_on_a_request_without_credentials_is_refused_with_401_and_the_accepted_schemes()
    {
        _cluster.RequiredAuthorization = "ApiKey a2V5";
        using var http = new HttpClient { BaseAddress = new Uri(_cluster.Url) };

        var response = await http.GetAsync("/");
        var error = (await response.Content.ReadFromJsonAsync<JsonObject>())!["error"]!;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("security_exception", (string?)error["type"]);
        Assert.Equal("missing authentication credentials for REST request [/]", (string?)error["reason"]);
        Assert.Contains("ApiKey", response.Headers.WwwAuthenticate.Select(challenge => challenge.Scheme));
    }

    [Fact]
    public async Task With_security_on_wrong_credentials_are_refused_and_the_right_ones_admitted()
    {
        _cluster.RequiredAuthorization = "ApiKey a2V5";
        using var http = new HttpClient { BaseAddress = new Uri(_cluster.Url) };

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", "d3Jvbmc=");
        var wrong = await http.GetAsync("/");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", "a2V5");
        var right = await http.GetAsync("/");

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("unable to authenticate", await wrong.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }
}

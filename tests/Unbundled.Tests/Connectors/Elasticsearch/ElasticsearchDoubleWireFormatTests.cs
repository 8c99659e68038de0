using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>The wire format the official clients speak: product header and vendored media types (REST API compatibility reference).</summary>
public sealed class ElasticsearchDoubleWireFormatTests : ElasticsearchDoubleTests
{
    [Fact]
    public async Task Every_response_names_the_product()
    {
        var response = await Http.PutAsync("/todos", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal("Elasticsearch", response.Headers.GetValues("X-elastic-product").Single());
    }

    // The official clients ping a node with HEAD / before using it again after a failure.
    [Fact]
    public async Task A_ping_is_answered_with_200_no_body_and_the_product()
    {
        var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("Elasticsearch", response.Headers.GetValues("X-elastic-product").Single());
    }

    // Path parameters are percent-decoded whole: an id may hold '/', sent as %2F.
    [Fact]
    public async Task A_document_id_is_decoded_from_the_path_slashes_included()
    {
        (await BulkAsync("""{"index":{"_index":"t","_id":"list:1/items 2"}}""" + "\n{}\n")).EnsureSuccessStatusCode();

        var response = await Http.GetAsync("/t/_doc/list%3A1%2Fitems%202");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"_id\":\"list:1/items 2\"", await response.Content.ReadAsStringAsync());
    }

    // REST API compatibility reference: the official clients send vendored media types with compatible-with.
    [Fact]
    public async Task The_official_clients_vendored_media_types_are_accepted_and_answered_in_kind()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/_bulk") { Content = new StringContent(Index("t", "a", "{}"), Encoding.UTF8) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/vnd.elasticsearch+x-ndjson; compatible-with=9");
        request.Headers.Accept.ParseAdd("application/vnd.elasticsearch+json; compatible-with=9");

        var response = await Http.SendAsync(request);

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

        var response = await Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("media_type_header_exception", await ErrorTypeAsync(response));
    }
}

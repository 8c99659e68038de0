using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Unbundled.Connectors.Elasticsearch;
using Unbundled.Connectors.Elasticsearch.Cluster;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// The connection options — credentials, several nodes, TLS trust — against the double, which alone
/// here can require credentials, serve TLS and run several nodes (the compose cluster that
/// ELASTICSEARCH_URL points at has security off and plain HTTP).
/// </summary>
public sealed class ElasticsearchSinkConnectionTests
{
    /// <summary>Connects, writes, reads by key and searches: every kind of request the sink makes.</summary>
    private static async Task RoundTripAsync(ElasticsearchOptions options, int batches = 1)
    {
        await using var sink = new ElasticsearchSink("todos", options, ElasticsearchClients.Create(options));
        await sink.ConnectAsync(default);
        for (var i = 1; i <= batches; i++)
        {
            var result = await sink.WriteAsync(new SinkBatch("todos", [SinkDocument.Upsert($"t{i}", 1, i, new JsonObject { ["title"] = $"hello {i}" })], i), default);
            Assert.Empty(result.Rejected);
        }
        Assert.Equal("hello 1", (string?)(await sink.ReadAsync("t1", default))!["title"]);
        Assert.Equal(batches, (await sink.SearchAsync(new("hello"), default)).Total);
    }

    private static Task ConnectAsync(ElasticsearchOptions options) =>
        new ElasticsearchSink("todos", options, ElasticsearchClients.Create(options)).ConnectAsync(default);

    [Fact]
    public async Task An_api_key_is_sent_as_ApiKey_authorization_and_admitted_by_a_cluster_with_security_on()
    {
        await using var cluster = await ElasticsearchDouble.StartAsync();
        cluster.RequiredAuthorization = "ApiKey VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";

        await RoundTripAsync(new ElasticsearchOptions { Url = cluster.Url, ApiKey = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==" });
    }

    [Fact]
    public async Task A_username_and_password_are_sent_as_basic_authorization()
    {
        await using var cluster = await ElasticsearchDouble.StartAsync();
        cluster.RequiredAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("indexer:s3cret-pässword"));

        await RoundTripAsync(new ElasticsearchOptions { Url = cluster.Url, Username = "indexer", Password = "s3cret-pässword" });
    }

    [Fact]
    public async Task Wrong_or_missing_credentials_are_refused_for_good_with_the_clusters_reason()
    {
        await using var cluster = await ElasticsearchDouble.StartAsync();
        cluster.RequiredAuthorization = "ApiKey cmlnaHQ=";

        var anonymous = new ElasticsearchOptions { Url = cluster.Url };

        var wrong = await Assert.ThrowsAsync<ElasticsearchRequestException>(() => ConnectAsync(new ElasticsearchOptions { Url = cluster.Url, ApiKey = "d3Jvbmc=" }));
        var missing = await Assert.ThrowsAsync<ElasticsearchRequestException>(() =>
            new ElasticsearchSink("todos", anonymous, ElasticsearchClients.Create(anonymous)).ReadAsync("t1", default));

        // The existence check is a HEAD, whose answer has no body to carry the reason.
        Assert.Equal(401, wrong.Status);
        Assert.EndsWith("401 Unauthorized", wrong.Message);
        Assert.Contains("401 security_exception: missing authentication credentials", missing.Message);
    }

    [Fact]
    public async Task Several_nodes_share_the_work_and_a_node_that_is_down_is_passed_over()
    {
        await using var cluster = await ElasticsearchDouble.StartAsync(nodes: 2);
        var down = DeadUrl();

        await RoundTripAsync(new ElasticsearchOptions { Nodes = [down, .. cluster.Urls] }, batches: 6);

        Assert.All(cluster.Urls, node => Assert.True(cluster.RequestsAt(node) > 0, $"{node} answered no request"));
    }

    [Fact]
    public async Task A_cluster_that_cannot_be_reached_is_a_transient_failure_that_says_so()
    {
        var error = await Assert.ThrowsAsync<SinkUnavailableException>(() => ConnectAsync(new ElasticsearchOptions { Nodes = [DeadUrl(), DeadUrl()] }));

        Assert.StartsWith("Elasticsearch cannot be reached", error.Message);
        Assert.Contains("Connection refused", error.Message);
    }

    /// <summary>Something between the sink and the cluster that answers every request with 200 and <paramref name="body"/>.</summary>
    private static async Task<WebApplication> StartMiddleboxAsync(string contentType, string body)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var box = builder.Build();
        box.Run(context =>
        {
            context.Response.ContentType = contentType;
            return context.Response.WriteAsync(body);
        });
        await box.StartAsync();
        return box;
    }

    private static async Task<SinkUnavailableException> WriteThroughAsync(WebApplication middlebox)
    {
        var options = new ElasticsearchOptions { Url = middlebox.Urls.First() };
        await using var sink = new ElasticsearchSink("todos", options, ElasticsearchClients.Create(options));
        return await Assert.ThrowsAsync<SinkUnavailableException>(() =>
            sink.WriteAsync(new SinkBatch("todos", [SinkDocument.Upsert("t1", 1, 1, new JsonObject { ["title"] = "hello" })], 1), default));
    }

    [Fact]
    public async Task A_success_that_is_not_json_such_as_a_proxys_login_page_is_a_transient_failure()
    {
        await using var proxy = await StartMiddleboxAsync("text/html; charset=utf-8", "<html><body>Sign in</body></html>");

        var error = await WriteThroughAsync(proxy);

        Assert.Equal("Elasticsearch answered bulk with 200 in text/html; charset=utf-8, not JSON", error.Message);
    }

    [Fact]
    public async Task A_bulk_answer_whose_results_do_not_line_up_with_the_documents_is_not_read()
    {
        await using var server = await StartMiddleboxAsync("application/json", """{"errors":false,"took":1,"items":[]}""");

        var error = await WriteThroughAsync(server);

        Assert.Equal("Elasticsearch answered a bulk of 1 documents with 0 results", error.Message);
    }

    [Fact]
    public async Task A_pinned_certificate_fingerprint_is_trusted_in_openssls_colon_form()
    {
        using var certificate = SelfSignedCertificate();
        await using var cluster = await ElasticsearchDouble.StartAsync(certificate: certificate);
        var fingerprint = string.Join(':', Convert.FromHexString(certificate.GetCertHashString(HashAlgorithmName.SHA256)).Select(b => b.ToString("x2")));

        await RoundTripAsync(new ElasticsearchOptions { Url = cluster.Url, CertificateFingerprint = fingerprint });
    }

    [Fact]
    public async Task A_certificate_that_matches_neither_the_pin_nor_the_machines_trust_is_refused()
    {
        using var certificate = SelfSignedCertificate();
        await using var cluster = await ElasticsearchDouble.StartAsync(certificate: certificate);
        using var other = SelfSignedCertificate();

        var pinnedElsewhere = await Assert.ThrowsAsync<SinkUnavailableException>(() =>
            ConnectAsync(new ElasticsearchOptions { Url = cluster.Url, CertificateFingerprint = other.GetCertHashString(HashAlgorithmName.SHA256) }));
        var untrusted = await Assert.ThrowsAsync<SinkUnavailableException>(() => ConnectAsync(new ElasticsearchOptions { Url = cluster.Url }));

        Assert.Contains("The SSL connection could not be established", pinnedElsewhere.Message);
        Assert.Contains("rejected by the provided RemoteCertificateValidationCallback", pinnedElsewhere.Message);
        Assert.Contains("UntrustedRoot", untrusted.Message);
        Assert.Equal(0, cluster.RequestsAt(cluster.Url));
    }

    [Fact]
    public async Task Skipping_verification_accepts_a_self_signed_development_cluster()
    {
        using var certificate = SelfSignedCertificate();
        await using var cluster = await ElasticsearchDouble.StartAsync(certificate: certificate);

        await RoundTripAsync(new ElasticsearchOptions { Url = cluster.Url, InsecureSkipVerify = true });
    }

    /// <summary>A loopback URL nothing listens on: its port was just given up.</summary>
    private static string DeadUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    /// <summary>A certificate for 127.0.0.1 that no authority signed, as a development cluster has.</summary>
    private static X509Certificate2 SelfSignedCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=unbundled-double", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Kestrel needs the private key in a form it can hand to the TLS stack: a PKCS#12 round trip gives it one.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}

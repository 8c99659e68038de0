using Unbundled.Connectors.Elasticsearch;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.TodoApp.Projections;
using Unbundled.Sdk.Connectors;
using Unbundled.Sources.CommandLog;
using Unbundled.Pipelines.Definition.Yaml;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>The elasticsearch connector's options as pipelines.yaml gives them: bound, validated, and each mistake named with its option.</summary>
public sealed class ElasticsearchSinkFactoryTests
{
    private const string Fingerprint = "A5:7B:19:9C:0D:F2:6E:31:4A:88:B0:57:C3:E9:12:6D:F0:4B:A3:9E:55:C7:1D:82:6F:0A:B4:E3:29:7C:D6:18";

    private static readonly ISinkConnectorFactory Factory = new ElasticsearchSinkFactory();

    public static TheoryData<string, ElasticsearchOptions, string, string> Mistakes => new()
    {
        { "not a URL", new() { Url = "localhost:9200" }, "url", "'localhost:9200' is not an http or https URL" },
        { "a node that is not a URL", new() { Nodes = ["https://es1:9200", "es2:9200"] }, "nodes", "'es2:9200' is not an http or https URL" },
        { "url and nodes", new() { Url = "https://es0:9200", Nodes = ["https://es1:9200"] }, "nodes", "give the cluster as url or as nodes, not both" },
        { "mixed schemes", new() { Nodes = ["https://es1:9200", "http://es2:9200"] }, "nodes", "the nodes of one cluster are all http or all https" },
        { "api key and user", new() { ApiKey = "a2V5", Username = "elastic", Password = "secret" }, "api-key", "use an API key or a username, not both" },
        { "password alone", new() { Password = "secret" }, "password", "a password needs a username" },
        { "short fingerprint", new() { Url = "https://es:9200", CertificateFingerprint = "A5:7B:19" }, "certificate-fingerprint", "it must be a SHA-256 fingerprint: 64 hex digits, colons allowed (openssl x509 -fingerprint -sha256)" },
        { "SHA-1 fingerprint", new() { Url = "https://es:9200", CertificateFingerprint = "A57B199C0DF26E314A88B057C3E9126DF04BA39E" }, "certificate-fingerprint", "it must be a SHA-256 fingerprint: 64 hex digits, colons allowed (openssl x509 -fingerprint -sha256)" },
        { "pin and skip", new() { Url = "https://es:9200", CertificateFingerprint = Fingerprint, InsecureSkipVerify = true }, "certificate-fingerprint", "pin a certificate or skip verification, not both" },
        { "pin over http", new() { Url = "http://es:9200", CertificateFingerprint = Fingerprint }, "certificate-fingerprint", "it only applies to https URLs" },
        { "no request timeout", new() { RequestTimeout = TimeSpan.Zero }, "request-timeout", "it must be more than 0 and at most 10m" },
        { "bulk size", new() { BulkSize = 0 }, "bulk-size", "it must be from 1 to 10000" },
        { "definition", new() { Definition = "[1]" }, "definition", "it must be a JSON object with settings and/or mappings" },
    };

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_bad_option_is_named_with_a_message_that_says_what_is_wrong(string mistake, ElasticsearchOptions options, string option, string message)
    {
        var problem = Assert.Single(Factory.Validate(options));

        Assert.True((option, message) == problem, $"{mistake}: {problem}");
    }

    [Fact]
    public void The_defaults_and_a_full_https_setup_are_valid()
    {
        Assert.Empty(Factory.Validate(new ElasticsearchOptions()));
        Assert.Empty(Factory.Validate(new ElasticsearchOptions
        {
            Nodes = ["https://es1:9200", "https://es2:9200"], ApiKey = "a2V5", CertificateFingerprint = Fingerprint.ToLowerInvariant(), RequestTimeout = TimeSpan.FromMinutes(1),
        }));
    }

    private static PipelinesLoadResult Load(string sink) => new PipelinesFileLoader(
        Connectors(),
        new Dictionary<string, IProjection> { ["todo-items"] = new TodoItemsProjection() },
        new EnvironmentSubstitution(_ => null)).Parse($"""
        sources:
          lists: {"{"} models: [todo-list] {"}"}
        sinks:
          search:
            connector: elasticsearch
        {sink}
        pipelines:
          items: {"{"} from: lists, projection: todo-items, to: search {"}"}
        """, "pipelines.yaml");

    private static ConnectorCatalog Connectors()
    {
        var connectors = new ConnectorCatalog();
        connectors.Add(new CommandLogSourceFactory(["todo-list"]));
        connectors.Add(Factory);
        return connectors;
    }

    [Fact]
    public void Pipelines_yaml_binds_a_list_of_nodes_and_the_tls_and_credential_options()
    {
        var result = Load($"""
                nodes: [https://es1:9200, https://es2:9200]
                username: indexer
                password: secret
                certificate-fingerprint: "{Fingerprint}"
                request-timeout: 45s
            """);

        Assert.Empty(result.Problems);
        var options = (ElasticsearchOptions)Assert.Single(result.Document!.Sinks).Value.Options;
        Assert.Equal(["https://es1:9200", "https://es2:9200"], options.Nodes);
        Assert.Equal(("indexer", "secret", Fingerprint, TimeSpan.FromSeconds(45)), (options.Username, options.Password, options.CertificateFingerprint, options.RequestTimeout));
    }

    [Fact]
    public void Pipelines_yaml_reports_a_bad_option_at_its_position()
    {
        var result = Load("""
                nodes: [https://es1:9200, http://es2:9200]
            """);

        Assert.Equal("pipelines.yaml:6:12: error: 'nodes' of sink 'search': the nodes of one cluster are all http or all https", Assert.Single(result.Problems).ToString());
    }
}

using Unbundled.Connectors.Ndjson;
using Unbundled.Connectors.Postgres;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Projections;

namespace Unbundled.Tests.Sources.Postgres;

/// <summary>A postgres source declared wrongly in pipelines.yaml: each mistake is named with its line and column, before anything connects.</summary>
public sealed class PostgresSourceOptionsTests
{
    private static IReadOnlyList<string> Problems(string source)
    {
        var connectors = new ConnectorCatalog();
        connectors.Add(new PostgresSourceFactory());
        connectors.Add(new NdjsonFileSinkFactory());
        var loader = new PipelinesFileLoader(connectors, new Dictionary<string, IProjection>(), new EnvironmentSubstitution(_ => null));
        var yaml = $"sources:\n  shop:\n    connector: postgres\n{source}sinks:\n  out: {{ connector: ndjson, directory: out }}\npipelines:\n  p: {{ from: shop, select: {{ fields: after }}, to: out }}\n";
        return loader.Parse(yaml, "pipelines.yaml").Problems.Select(p => p.ToString()).ToList();
    }

    [Theory]
    [InlineData("    tables: [orders]\n", "pipelines.yaml:3:5: error:", "'connection'")]
    [InlineData("    connection: \"Host=db;Nonsense Key=1\"\n    tables: [orders]\n", "pipelines.yaml:4:17: error:", "not a connection string")]
    [InlineData("    connection: Host=db\n    tables: [orders]\n    snapshot: sometimes\n", "pipelines.yaml:6:15: error:", "'initial' or 'never'")]
    [InlineData("    connection: Host=db\n    tables: [orders]\n    snapshot-chunk-size: -5\n", "pipelines.yaml:6:26: error:", "positive")]
    [InlineData("    connection: Host=db\n    tables: [orders]\n    snapshot-chunk-size: 99999999999999999999\n", "pipelines.yaml:6:26: error:", "whole number")]
    [InlineData("    connection: Host=db\n    tables: [orders]\n    schema: public\n", "pipelines.yaml:6:13: error:", "either 'tables' or a 'schema'")]
    [InlineData("    connection: Host=db\n    heartbeat: -1s\n", "pipelines.yaml:5:16: error:", "")]
    [InlineData("    connection: Host=db\n    key-columns: [a, b]\n", "pipelines.yaml:5:18: error:", "")]
    public void A_mistake_in_a_postgres_source_is_named_where_it_stands(string source, string at, string says)
    {
        var problems = Problems(source);
        Assert.Contains(problems, p => p.StartsWith(at, StringComparison.Ordinal) && p.Contains(says, StringComparison.Ordinal));
    }
}

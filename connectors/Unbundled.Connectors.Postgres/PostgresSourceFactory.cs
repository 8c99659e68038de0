using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Unbundled.Connectors.Postgres.Replication;
using Unbundled.Sdk.Sources;

namespace Unbundled.Connectors.Postgres;

/// <summary>The <c>postgres</c> source connector.</summary>
public sealed class PostgresSourceFactory : SourceConnectorFactory<PostgresSourceOptions>
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ConnectorName = "postgres";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "tables";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(PostgresSourceOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Connection)) yield return ("connection", "a connection string is required (Host=…;Database=…;Username=…)");
        else
        {
            string? problem = null;
            try { _ = new NpgsqlConnectionStringBuilder(options.Connection); }
            catch (ArgumentException error) { problem = error.Message; }
            if (problem is not null) yield return ("connection", $"it is not a connection string: {problem}");
        }
        if (options.Tables.Count > 0 && options.Schema is not null) yield return ("schema", "name either 'tables' or a 'schema', not both");
        if (options.Exclude.Count > 0 && options.Tables.Count > 0) yield return ("exclude", "it applies to a 'schema', not to listed 'tables'");
        if (options.Snapshot is not ("initial" or "never")) yield return ("snapshot", "it must be 'initial' or 'never'");
        if (options.SnapshotChunkSize < 1) yield return ("snapshot-chunk-size", "it must be positive");
        if (options.Heartbeat < TimeSpan.Zero) yield return ("heartbeat", "it must be 0 (never) or positive");
    }

    /// <inheritdoc />
    protected override ISourceConnector Create(PostgresSourceOptions options, SourceContext context) =>
        new PostgresSource(options, context, context.Services.GetService<SlotLeases>() ?? new SlotLeases(),
            context.Services.GetService<ILogger<PostgresSource>>() ?? NullLogger<PostgresSource>.Instance);
}

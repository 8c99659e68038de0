using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Unbundled.Connectors.Postgres;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Postgres;

/// <summary>
/// A schema of its own in the test PostgreSQL, tables in it to capture, and postgres sources over them;
/// dropping it drops the sources' slots and publications too (a slot left behind would hold WAL forever
/// and use one of the server's few slots).
/// </summary>
public sealed class CapturedDatabase(PostgresServer server, string test) : IAsyncDisposable
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().AddPostgresSource().BuildServiceProvider();
    private readonly List<ISourceConnector> _sources = [];

    /// <summary>The schema the tables are in.</summary>
    public string Schema { get; } = PostgresServer.UniqueSchema(test);

    /// <summary>The server's connection string.</summary>
    public string ConnectionString => server.ConnectionString;

    /// <summary>A name prefix for this test's pipelines (and so its slots).</summary>
    public string Pipelines => "p" + Schema[^12..];

    /// <summary>Runs SQL in the schema.</summary>
    public async Task ExecuteAsync(string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server.ConnectionString) { SearchPath = Schema }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Creates the schema.</summary>
    public Task CreateAsync() => ExecuteAsync($"create schema \"{Schema}\"");

    /// <summary>Every row of <paramref name="table"/> as the JSON PostgreSQL gives it, by key column <paramref name="key"/>.</summary>
    public async Task<Dictionary<string, JsonObject>> RowsAsync(string table, string key = "id")
    {
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"select \"{key}\"::text, row_to_json(t)::text from \"{Schema}\".\"{table}\" t", connection);
        var rows = new Dictionary<string, JsonObject>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) rows[reader.GetString(0)] = JsonNode.Parse(reader.GetString(1))!.AsObject();
        return rows;
    }

    /// <summary>A connected source over <paramref name="tables"/> for pipeline <paramref name="pipeline"/> (its slot).</summary>
    public async Task<ISourceConnector> SourceAsync(string pipeline, Action<PostgresSourceOptions>? configure = null, int generation = 0, params string[] tables)
    {
        var options = new PostgresSourceOptions { Connection = server.ConnectionString, Tables = tables.Select(t => $"{Schema}.{t}").ToList(), Heartbeat = TimeSpan.Zero };
        configure?.Invoke(options);
        var source = new PostgresSourceFactory().Create(options, new SourceContext(pipeline, Schema, Services) { Generation = generation });
        _sources.Add(source);
        await source.ConnectAsync(default);
        return source;
    }

    /// <summary>Reads from <paramref name="after"/> until nothing new comes for a moment, <paramref name="page"/> records at a time.</summary>
    public static async Task<(List<SourceRecord> Records, long Offset)> DrainAsync(ISourceConnector source, long after, int page = 500, TimeSpan? quiet = null)
    {
        var records = new List<SourceRecord>();
        var offset = after;
        var idleSince = DateTime.UtcNow;
        while (DateTime.UtcNow - idleSince < (quiet ?? TimeSpan.FromSeconds(1.5)))
        {
            var batch = await source.ReadAsync(offset, page, default);
            if (batch.Offset > offset)
            {
                records.AddRange(batch.Records);
                offset = batch.Offset;
                idleSince = DateTime.UtcNow;
                continue;
            }
            await Task.Delay(20);
        }
        return (records, offset);
    }

    /// <summary>The offset a new source reaches once it has read what its tables held (their snapshot) and stands at the stream's head.</summary>
    public static async Task<long> SettleAsync(ISourceConnector source) => (await DrainAsync(source, 0, quiet: TimeSpan.FromMilliseconds(300))).Offset;

    /// <summary>
    /// What a version-guarded sink holds after <paramref name="records"/>: per key the newest document, a
    /// write not newer than the one held being ignored, as every sink of the SDK contract does.
    /// </summary>
    public static Dictionary<string, JsonObject> Fold(IEnumerable<SourceRecord> records, Dictionary<string, (long Version, JsonObject? Row)>? held = null)
    {
        held ??= [];
        foreach (var record in records)
        {
            if (record.Change is not { } change) continue;
            if (held.TryGetValue(change.Key, out var was) && was.Version >= change.Source.Version) continue;
            held[change.Key] = (change.Source.Version, change.Op == ChangeOp.Delete ? null : change.After!.AsObject());
        }
        return held.Where(p => p.Value.Row is not null).ToDictionary(p => p.Key, p => p.Value.Row!);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var source in _sources) await source.DisposeAsync();
        await using var connection = new NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using (var slots = new NpgsqlCommand($"select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like 'unbundled\\_{Pipelines}%' and not active", connection))
            await slots.ExecuteNonQueryAsync();
        await using (var publication = new NpgsqlCommand($"drop publication if exists \"unbundled_{Schema}\"", connection))
            await publication.ExecuteNonQueryAsync();
        await server.DropSchemaAsync(Schema);
    }
}

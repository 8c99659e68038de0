using Microsoft.Data.Sqlite;
using Unbundled.Pipelines.Aggregation;
using Unbundled.Testing;

namespace Unbundled.Bench.Scenarios;

/// <summary>
/// A grouped view against the plain one: the same log replayed into Redis once as one document per model
/// (the <c>redis-replay</c> pipeline) and once grouped by team, 100 models a team, with a count, a sum and
/// a maximum per team, every member kept in the aggregate store beside the log. Prints peak RSS and what the
/// aggregate state takes per group.
/// </summary>
internal static class AggregateReplayScenario
{
    private const int Teams = 100;

    private static readonly AggregateDefinition ByTeam = new("{after.team}", null,
    [
        new AggregateField("models", AggregateFunction.Count, null),
        new AggregateField("total", AggregateFunction.Sum, "after.n"),
        new AggregateField("highest", AggregateFunction.Max, "after.n"),
    ]);

    public static async Task<BenchResult> RunAsync(bool quick)
    {
        var entries = quick ? 300_000 : 1_000_000;
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var directory = Directory.CreateTempSubdirectory("unbundled-bench-");
        var logFile = Path.Combine(directory.FullName, "log.db");
        var prefix = $"bench-agg-{Guid.NewGuid():N}:";
        try
        {
            await RedisReplayScenario.FillLogAsync(logFile, entries, teams: Teams);
            var (plain, _) = await RedisReplayScenario.ReplayAsync(logFile, redis, prefix + "plain:", entries, telemetry: false);
            var before = new FileInfo(logFile).Length;
            var (grouped, peakRss) = await RedisReplayScenario.ReplayAsync(logFile, redis, prefix + "grouped:", entries, telemetry: false, ByTeam);
            var (members, groups, bytes) = await StateAsync(logFile);
            Console.WriteLine($"peak RSS during the grouped replay: {peakRss / (1024 * 1024)} MB");
            Console.WriteLine($"aggregate state: {members} member rows and {groups} group rows, {bytes / (double)groups / 1024:0.0} KiB of contributions and documents per group " +
                $"({bytes / (double)members:0} bytes per member); the log file grew by {(new FileInfo(logFile).Length - before) / 1048576.0:0.0} MB");
            return new BenchResult("aggregate-replay", grouped, "events/s", plain);
        }
        finally
        {
            await RedisKeys.DeletePrefixAsync(redis, prefix);
            SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    private static async Task<(long Members, long Groups, long Bytes)> StateAsync(string logFile)
    {
        await using var connection = new SqliteConnection($"Data Source={logFile}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT (SELECT count(*) FROM aggregate_members), (SELECT count(*) FROM aggregate_groups),
                   (SELECT coalesce(sum(length(member) + length(coalesce(contribution, ''))), 0) FROM aggregate_members)
                 + (SELECT coalesce(sum(length(grp) + length(coalesce(document, ''))), 0) FROM aggregate_groups)
            """;
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }
}

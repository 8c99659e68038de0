using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Connectors.Redis;
using Unbundled.Pipelines.Definition;
using Unbundled.Sources.CommandLog;
using Unbundled.Testing;
using Unbundled.Tests.Services;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// A rebuilding generation acknowledges its source as it writes, as the live one does: a source keeps what is not
/// acknowledged (a Kafka reader every message it handed out, a replication slot its WAL), so a rebuild of a large
/// source that acknowledged nothing until it took over grew without bound.
/// </summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class RebuildAcknowledgementTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_rebuilding_generation_acknowledges_its_source_batch_by_batch_before_it_takes_over()
    {
        var redis = await LocalServices.GetAsync("UNBUNDLED_REDIS");
        var prefix = $"test-{Guid.NewGuid():N}:";
        var acknowledged = new ConcurrentDictionary<int, ConcurrentQueue<long>>();
        var at = new SourceSpan("test", 1, 1);
        var pipeline = Pipeline("lists", new RecordingView(), new NamedProjection(Unbundled.TodoApp.Projections.TodoItemsProjection.ProjectionName), batchSize: 10) with
        {
            Source = new SourceDefinition("todo-lists", new InterceptedLogSourceFactory { OnAcknowledge = (generation, offset) => acknowledged.GetOrAdd(generation, _ => new()).Enqueue(offset) },
                new CommandLogSourceOptions { Models = ["todo-list"] }, at),
            // A sink with generations, which a rebuild needs.
            Sink = new SinkDefinition("cache", new RedisCacheSinkFactory(), new RedisCacheOptions { Prefix = prefix, Connection = redis }, at),
        };
        await using var harness = await StartAsync(_directory.File("log.db"), [pipeline], builder => builder.Services.AddRedisCacheSink());
        try
        {
            for (var i = 0; i < 30; i++) await harness.FlushAsync($"l{i}", NewList($"list {i}"), AddTodo("t", "todo"));
            await harness.CatchUpAsync("lists");
            var head = await harness.Log.ReadHeadAsync(default);

            Assert.True(harness.Rebuilds.Find("lists")!.TryRequest());
            Assert.True(harness.Monitor.TryGet("lists", out var progress));
            for (var i = 0; progress!.Generation < 1; i++)
            {
                Assert.True(i < 300, "the rebuild did not take over");
                await Task.Delay(50);
            }

            // Nothing was written since: every acknowledgement of generation 1 came from the rebuild's own batches.
            var rebuilt = Assert.Contains(1, (IDictionary<int, ConcurrentQueue<long>>)acknowledged);
            Assert.True(rebuilt.Count >= 6, $"the rebuild acknowledged {rebuilt.Count} times for {head} entries in batches of 10");
            Assert.Equal(head, rebuilt.Max());
        }
        finally
        {
            await RedisKeys.DeletePrefixAsync(redis, prefix);
        }
    }

    public void Dispose() => _directory.Dispose();
}

using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Sources.CommandLog;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// A source or state store out of reach for a while (a database restart, a failover) pauses a pipeline rather than
/// ending it: it stayed stopped until the process restarted.
/// </summary>
public sealed class SourceOutageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_pipeline_whose_source_is_out_of_reach_for_a_while_starts_again_and_catches_up()
    {
        var view = new RecordingView();
        var failures = 0;
        var source = new InterceptedLogSourceFactory
        {
            BeforeRead = _ =>
            {
                if (Volatile.Read(ref failures) > 0 && Interlocked.Decrement(ref failures) >= 0) throw new IOException("the log's database is restarting");
            },
        };
        var pipeline = Pipeline("lists", view) with
        {
            Source = new SourceDefinition("todo-lists", source, new CommandLogSourceOptions { Models = ["todo-list"] }, new SourceSpan("test", 1, 1)),
        };
        await using var harness = await StartAsync(_directory.File("log.db"), [pipeline]);
        Assert.True(harness.Monitor.TryGet("lists", out var progress));
        await harness.FlushAsync("a", NewList("before"), AddTodo("t1", "milk"));
        await harness.CatchUpAsync("lists");

        Volatile.Write(ref failures, 3);
        await harness.FlushAsync("b", NewList("during"), AddTodo("t2", "eggs"));
        for (var i = 0; Volatile.Read(ref failures) > 0; i++)
        {
            Assert.True(i < 100, "the source was not read again");
            await Task.Delay(100);
        }
        await harness.CatchUpAsync("lists");

        Assert.NotEqual(PipelineState.Faulted, progress!.State);
        Assert.Equal(["a:t1", "b:t2"], view.Snapshot().Keys.Order());
    }

    public void Dispose() => _directory.Dispose();
}

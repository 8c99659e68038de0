using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Hosting;
using Unbundled.Log;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Sdk.Projections;
using Unbundled.TodoApp.Projections;

using Unbundled.Sources.CommandLog;

namespace Unbundled.Tests.Pipelines;

/// <summary>A host with the todo-list model, an embedded log in a temporary file and the given pipelines.</summary>
public sealed class PipelineHarness : IAsyncDisposable
{
    private readonly IHost _host;

    private PipelineHarness(IHost host) => _host = host;

    /// <summary>The master to flush to.</summary>
    public MasterModel Master => _host.Services.GetRequiredService<MasterModel>();

    /// <summary>The log.</summary>
    public ICommandLog Log => _host.Services.GetRequiredService<ICommandLog>();

    /// <summary>Offsets and dead letters.</summary>
    public IPipelineStateStore State => _host.Services.GetRequiredService<IPipelineStateStore>();

    /// <summary>Dead-letter replays, run by the pipelines' workers.</summary>
    public Unbundled.Pipelines.DeadLetters.DeadLetterReplays Replays => _host.Services.GetRequiredService<Unbundled.Pipelines.DeadLetters.DeadLetterReplays>();

    /// <summary>Rebuild requests, taken by the pipelines' workers.</summary>
    public Unbundled.Pipelines.Rebuild.RebuildRequests Rebuilds => _host.Services.GetRequiredService<Unbundled.Pipelines.Rebuild.RebuildRequests>();

    /// <summary>The workers' progress.</summary>
    public PipelineMonitor Monitor => _host.Services.GetRequiredService<PipelineMonitor>();

    /// <summary>Starts a host over <paramref name="logFile"/> running <paramref name="pipelines"/>.</summary>
    public static Task<PipelineHarness> StartAsync(string logFile, IEnumerable<PipelineDefinition> pipelines, params IProjection[] projections) =>
        StartAsync(logFile, pipelines, _ => { }, projections);

    /// <summary>Like the other, with the host's builder changed by <paramref name="configure"/> before it is built (a test's logger).</summary>
    public static async Task<PipelineHarness> StartAsync(string logFile, IEnumerable<PipelineDefinition> pipelines, Action<HostApplicationBuilder> configure, params IProjection[] projections)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        configure(builder);
        var unbundled = builder.Services.AddUnbundled()
            .UseSqliteLog(options => options.Path = logFile)
            .AddTodoApp(maxTodosPerList: 10_000)
            .AddSinkConnector(new RecordingSinkFactory());
        foreach (var projection in projections) unbundled.AddProjection(projection);
        foreach (var pipeline in pipelines) unbundled.AddPipeline(pipeline);
        var host = builder.Build();
        await host.StartAsync();
        return new PipelineHarness(host);
    }

    /// <summary>A pipeline from the todo lists into a recording view.</summary>
    public static PipelineDefinition Pipeline(string name, RecordingView view, ProjectionDefinition? projection = null, FilterExpression? where = null,
        ErrorPolicy onError = ErrorPolicy.DeadLetter, bool keepsOffset = false, int batchSize = 1000)
    {
        var at = new SourceSpan("test", 1, 1);
        return new PipelineDefinition(name,
            new SourceDefinition("todo-lists", new CommandLogSourceFactory([]), new CommandLogSourceOptions { Models = ["todo-list"] }, at),
            where,
            projection ?? new NamedProjection(TodoItemsProjection.ProjectionName),
            new SinkDefinition(name + "-sink", new RecordingSinkFactory(), new RecordingSinkOptions { View = view, KeepsOffset = keepsOffset }, at),
            onError,
            new BatchOptions(batchSize),
            name,
            at);
    }

    /// <summary>Flushes commands to a list, based on its current version.</summary>
    public async Task<FlushResult> FlushAsync(string list, params Command[] commands)
    {
        var key = new ModelKey("todo-list", list);
        var state = await Master.ReadAsync(key, null, default);
        return await Master.FlushAsync(new FlushRequest(key, state.Version, commands, "tester"), default);
    }

    /// <summary>Flushes commands to any model as <paramref name="caller"/>, based on its current version.</summary>
    public async Task<FlushResult> FlushAsAsync(string caller, ModelKey key, params Command[] commands)
    {
        var state = await Master.ReadAsync(key, null, default);
        return await Master.FlushAsync(new FlushRequest(key, state.Version, commands, caller), default);
    }

    /// <summary>
    /// Runs <paramref name="steps"/> steps over <paramref name="pipeline"/>, crashing at the middle one between the view's state
    /// store and its sink: the sink is down, the host stops while the worker retries, and a new host takes over from the log.
    /// Answers the last host, caught up; the caller disposes it.
    /// </summary>
    public static async Task<PipelineHarness> RunWithCrashAsync(string logFile, PipelineDefinition pipeline, RecordingView view, int steps, Func<PipelineHarness, int, Task> step)
    {
        var harness = await StartAsync(logFile, [pipeline]);
        try
        {
            for (var index = 0; index < steps; index++)
            {
                if (index == steps / 2) view.FailNext(1_000);
                await step(harness, index);
                if (index != steps / 2) continue;
                await Task.Delay(300);
                await harness.DisposeAsync();
                view.FailNext(0);
                harness = await StartAsync(logFile, [pipeline]);
            }
            await harness.CatchUpAsync(pipeline.Name);
            return harness;
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until every pipeline's offset reached the log's head.</summary>
    public async Task CatchUpAsync(params string[] pipelines)
    {
        var head = await Log.ReadHeadAsync(default);
        foreach (var pipeline in pipelines)
        {
            Assert.True(Monitor.TryGet(pipeline, out var progress), $"no pipeline {pipeline}");
            await progress.WaitForOffsetAsync(head, TimeSpan.FromSeconds(15), default);
        }
    }

    /// <summary>The pipeline's dead letters once there are at least <paramref name="count"/>, waiting up to 15 s.</summary>
    public async Task<IReadOnlyList<Unbundled.Pipelines.State.DeadLetter>> WaitForDeadLettersAsync(string pipeline, int count)
    {
        for (var i = 0; i < 150; i++)
        {
            var letters = await State.ReadDeadLettersAsync(pipeline, 0, 100, default);
            if (letters.Count >= count) return letters;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException($"{count} dead letter(s) of {pipeline} did not arrive");
    }

    /// <summary>Command to create a list.</summary>
    public static Command NewList(string title) => new() { Op = CommandOp.Create, Path = "", Value = new JsonObject { ["title"] = title, ["todos"] = new JsonArray() } };

    /// <summary>Command to add a todo.</summary>
    public static Command AddTodo(string id, string title) => new() { Op = CommandOp.Create, Path = "/todos/-", Value = new JsonObject { ["id"] = id, ["title"] = title, ["done"] = false } };

    /// <summary>Command to change a field.</summary>
    public static Command Set(string path, JsonNode? value) => new() { Op = CommandOp.Update, Path = path, Value = value };

    /// <summary>Command to delete at a path.</summary>
    public static Command Delete(string path) => new() { Op = CommandOp.Delete, Path = path };

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}

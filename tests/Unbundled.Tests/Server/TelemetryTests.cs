using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Unbundled.Tracing;

namespace Unbundled.Tests.Server;

/// <summary>OpenTelemetry end to end: one flush is one trace through every view it reaches, and the pipelines' metrics reach Prometheus.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class TelemetryTests : IAsyncLifetime
{
    private const string Pipelines = """
        sources:
          lists:
            models: [todo-list]
        sinks:
          cache: { connector: redis, key: "list:{key}" }
          journal: { connector: ndjson, directory: "${VIEWS}/journal" }
        pipelines:
          list-cache:
            from: lists
            select: { fields: { title: after.title } }
            to: cache
          todo-journal:
            from: lists
            projection: todo-items
            to: journal
        """;

    private readonly TempDirectory _directory = new();
    private readonly List<Activity> _spans = [];
    private RunningServer _server = null!;

    public async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("VIEWS", _directory.Path);
        _server = await RunningServer.StartWithPipelinesAsync(_directory, Pipelines, 2,
            builder => builder.Services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans)), "--Unbundled:Telemetry:Tracing=true");
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>Flushes from inside a caller's own span, whose context the HTTP client sends as <c>traceparent</c>; answers the caller's trace.</summary>
    private async Task<(ActivityTraceId Trace, long Position)> FlushAsync(string body)
    {
        // Sampled, as a caller that records its traces sends them: a parent-based sampler follows the flag.
        using var caller = new Activity("caller") { ActivityTraceFlags = ActivityTraceFlags.Recorded }.SetIdFormat(ActivityIdFormat.W3C).Start();
        using var response = await _server.Client.PostAsync("/models/todo-list/traced/flush", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (caller.TraceId, (long)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["position"]!);
    }

    private Activity[] Spans()
    {
        lock (_spans) return [.. _spans];
    }

    [Fact]
    public async Task One_flush_is_one_trace_through_every_pipeline_it_reaches()
    {
        // The caller's own trace continues through the server: the flush, then each view's derivation.
        var (callerTrace, position) = await FlushAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"T","todos":[{"id":"a","title":"Milk","done":false}]}}]}""");
        foreach (var pipeline in new[] { "list-cache", "todo-journal" })
            Assert.Equal(HttpStatusCode.OK, (await _server.Client.GetAsync($"/pipelines/{pipeline}")).StatusCode);
        // Other servers of this test run share the process's activity sources, so only spans of this trace count.
        bool Ours(Activity span) => span.TraceId == callerTrace || span.Links.Any(link => link.Context.TraceId == callerTrace);
        await WaitUntilAsync(() => Spans().Count(s => Ours(s) && s.OperationName.StartsWith("derive ")) >= 2 && Spans().Count(s => Ours(s) && s.OperationName.StartsWith("write ")) >= 2);

        var trace = Spans().Where(s => s.TraceId == callerTrace).ToList();
        var flush = Assert.Single(trace, s => s.OperationName == "flush todo-list");
        Assert.Equal("traced", flush.GetTagItem("unbundled.model.id"));
        var derived = trace.Where(s => s.OperationName.StartsWith("derive ")).Select(s => s.OperationName).Order().ToList();
        Assert.Equal(["derive list-cache", "derive todo-journal"], derived);
        Assert.All(trace.Where(s => s.OperationName.StartsWith("derive ")), s => Assert.True(s.StartTimeUtc >= flush.StartTimeUtc));

        // Each batch write is linked to the derivations it carried, so the trace leads to the sink writes.
        var writes = Spans().Where(s => Ours(s) && s.OperationName.StartsWith("write ")).Select(s => s.OperationName).Order().ToList();
        Assert.Equal(["write list-cache", "write todo-journal"], writes);
        Assert.True(position > 0);
    }

    [Fact]
    public async Task The_trace_context_is_kept_with_the_log_entry()
    {
        var (callerTrace, _) = await FlushAsync("""{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"K","todos":[]}}]}""");

        var entry = (await _server.Log.ReadAsync(0, 100, default)).Last();

        Assert.Contains(callerTrace.ToString(), entry.Command.Meta![UnbundledTracing.MetaName]);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 300 && !condition(); i++) await Task.Delay(50);
        Assert.True(condition(), "the spans did not arrive within 15 s");
    }
}

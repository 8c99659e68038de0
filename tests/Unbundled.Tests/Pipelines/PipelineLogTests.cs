using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static Unbundled.Tests.Pipelines.PipelineHarness;

namespace Unbundled.Tests.Pipelines;

/// <summary>What a worker logs carries, as scopes, the pipeline, its source and sink, and the batch and offsets it was about.</summary>
public sealed class PipelineLogTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task A_sink_failure_is_logged_with_the_pipeline_and_the_batch_and_offsets_it_was_writing()
    {
        var logs = new ScopeRecordingLogs();
        var view = new RecordingView();
        await using var harness = await StartAsync(_directory.File("log.db"), [Pipeline("scoped", view)], builder => builder.Services.AddSingleton<ILoggerProvider>(logs));
        await harness.FlushAsync("a", NewList("A"));
        await harness.CatchUpAsync("scoped");

        view.FailNext(1);
        await harness.FlushAsync("a", AddTodo("1", "x"));
        await harness.CatchUpAsync("scoped");

        var failure = Assert.Single(logs.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("cannot write"));
        Assert.Equal("scoped", failure.Scopes["Pipeline"]);
        Assert.Equal("todo-lists", failure.Scopes["Source"]);
        Assert.Equal("scoped-sink", failure.Scopes["Sink"]);
        Assert.Equal(1L, failure.Scopes["FromOffset"]);
        Assert.Equal(2L, failure.Scopes["ToOffset"]);
        Assert.IsType<long>(failure.Scopes["Batch"]);
    }

    public void Dispose() => _directory.Dispose();

    /// <summary>Keeps every line logged with the values of the scopes it was logged in.</summary>
    private sealed class ScopeRecordingLogs : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ConcurrentQueue<(LogLevel Level, string Message, Dictionary<string, object?> Scopes)> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose() { }

        private sealed class Logger(ScopeRecordingLogs logs) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logs._scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var scopes = new Dictionary<string, object?>();
                logs._scopes.ForEachScope((scope, values) =>
                {
                    if (scope is IEnumerable<KeyValuePair<string, object?>> named) foreach (var (key, value) in named) values[key] = value;
                    else if (scope is IEnumerable<KeyValuePair<string, object>> plain) foreach (var (key, value) in plain) values[key] = value;
                }, scopes);
                logs.Lines.Enqueue((logLevel, formatter(state, exception), scopes));
            }
        }
    }
}

using Unbundled.Hosting;
using Unbundled.Pipelines.Definition;
using Unbundled.Sources.CommandLog;

namespace Unbundled.Bench.Scenarios;

/// <summary>The one pipeline a throughput scenario runs: one model type of the log, through a projection, into one sink, 1,000 events a batch.</summary>
internal static class BenchPipeline
{
    /// <summary>Adds the pipeline <paramref name="name"/> from the log's <paramref name="model"/> type into the registered sink <paramref name="connector"/>.</summary>
    public static UnbundledBuilder AddBenchPipeline(this UnbundledBuilder unbundled, string name, string model, ProjectionDefinition projection, string connector, object sinkOptions,
        Unbundled.Pipelines.Aggregation.AggregateDefinition? aggregate = null)
    {
        var at = new SourceSpan("bench", 1, 1);
        return unbundled.AddPipeline(new PipelineDefinition(name,
            new SourceDefinition("source", unbundled.Connectors.Sources[CommandLogSourceFactory.ConnectorName], new CommandLogSourceOptions { Models = [model] }, at),
            null,
            projection,
            new SinkDefinition("sink", unbundled.Connectors.Sinks[connector], sinkOptions, at),
            ErrorPolicy.DeadLetter,
            new BatchOptions(1000),
            "bench",
            at,
            Aggregate: aggregate));
    }
}

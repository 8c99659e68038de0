using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Model;
using Unbundled.Pipelines;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.Replay;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Pipelines.Workers;
using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;
using Unbundled.Sources.CommandLog;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Pipelines.Rebuild;
using Unbundled.Pipelines.Projection;

namespace Unbundled.Hosting;

/// <summary>
/// Configures Unbundled in a service collection: model types, the log store, sink connectors,
/// projections and pipelines. It remembers what was registered so that pipelines.yaml is validated
/// against it before the host starts.
/// </summary>
public sealed class UnbundledBuilder
{
    private readonly List<string> _modelTypes = [];
    private readonly Dictionary<string, IProjection> _projections = new(StringComparer.Ordinal);
    private readonly PipelineCatalog _pipelines = new();

    /// <summary>Starts configuring <paramref name="services"/>: the command log is the source every pipeline may read.</summary>
    public UnbundledBuilder(IServiceCollection services)
    {
        Services = services;
        Connectors = services.ConnectorCatalog();
        if (!Connectors.Sources.ContainsKey(CommandLogSourceFactory.ConnectorName)) services.AddSourceConnector(new CommandLogSourceFactory(_modelTypes));
        services.AddSingleton(_pipelines);
        services.TryAddSingleton<PipelineViews>();
        services.TryAddSingleton<RebuildRequests>();
        services.TryAddSingleton<DeadLetterReplays>();
        services.AddSingleton<IPipelineReplay>(provider => new PipelineReplay(_pipelines, provider));
    }

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The registered model type names.</summary>
    public IReadOnlyCollection<string> ModelTypes => _modelTypes;

    /// <summary>The registered source and sink connectors, by name (connectors add themselves with <c>services.AddXyzSink()</c>).</summary>
    public ConnectorCatalog Connectors { get; }

    /// <summary>The registered projections, by name.</summary>
    public IReadOnlyDictionary<string, IProjection> Projections => _projections;

    /// <summary>Registers a model type the master will accept, with its interceptors.</summary>
    public UnbundledBuilder AddModelType(string name, Action<ModelTypeBuilder>? configure = null)
    {
        var type = new ModelTypeBuilder(name);
        configure?.Invoke(type);
        _modelTypes.Add(name);
        Services.AddSingleton(type.Build);
        return this;
    }

    /// <summary>Makes a sink connector available to pipelines under its name.</summary>
    public UnbundledBuilder AddSinkConnector(ISinkConnectorFactory connector)
    {
        Services.AddSinkConnector(connector);
        return this;
    }

    /// <summary>Makes a source connector available to pipelines under its name.</summary>
    public UnbundledBuilder AddSourceConnector(ISourceConnectorFactory connector)
    {
        Services.AddSourceConnector(connector);
        return this;
    }

    /// <summary>Makes a projection available to pipelines under its name.</summary>
    public UnbundledBuilder AddProjection(IProjection projection)
    {
        if (!_projections.TryAdd(projection.Name, projection))
            throw new InvalidOperationException($"A projection named '{projection.Name}' is registered already.");
        Services.AddSingleton(projection);
        return this;
    }

    /// <summary>
    /// Loads pipelines.yaml, validated against what is registered so far (register model types,
    /// connectors and projections first), and runs each pipeline. Throws
    /// <see cref="PipelinesFileException"/> listing every problem when the file is not valid.
    /// </summary>
    public UnbundledBuilder AddPipelinesFile(string path, EnvironmentSubstitution? environment = null)
    {
        var document = new PipelinesFileLoader(Connectors, _projections, environment).Load(path).Require();
        Services.AddSingleton(document);
        foreach (var pipeline in document.Pipelines) AddPipeline(pipeline);
        return this;
    }

    /// <summary>Runs a pipeline: one hosted worker keeps its view up to date.</summary>
    public UnbundledBuilder AddPipeline(PipelineDefinition pipeline)
    {
        var projection = pipeline.Projection switch
        {
            NamedProjection named => _projections.TryGetValue(named.Name, out var found)
                ? found
                : throw new InvalidOperationException($"Pipeline '{pipeline.Name}' names the projection '{named.Name}', which is not registered."),
            SelectProjection select => new Unbundled.Pipelines.Projection.SelectProjector(select),
            _ => throw new InvalidOperationException($"Pipeline '{pipeline.Name}' has no projection."),
        };
        var transform = new PipelineTransform(pipeline, projection);
        _pipelines.Add(transform);
        Services.AddSingleton<IHostedService>(provider => new PipelineWorker(
            transform,
            provider.GetRequiredService<IPipelineStateStore>(),
            provider.GetRequiredService<PipelineMonitor>(),
            provider.GetRequiredService<PipelineViews>(),
            provider.GetRequiredService<RebuildRequests>(),
            provider.GetRequiredService<DeadLetterReplays>(),
            provider,
            provider.GetRequiredService<ILogger<PipelineWorker>>()));
        return this;
    }
}

/// <summary>Lists the interceptors of one model type, in the order they run.</summary>
public sealed class ModelTypeBuilder(string name)
{
    private readonly List<Func<IServiceProvider, ICommandInterceptor>> _interceptors = [];

    /// <summary>Adds an interceptor instance.</summary>
    public ModelTypeBuilder Use(ICommandInterceptor interceptor)
    {
        _interceptors.Add(_ => interceptor);
        return this;
    }

    /// <summary>Adds an interceptor built from the container (its dependencies injected).</summary>
    public ModelTypeBuilder Use<TInterceptor>() where TInterceptor : ICommandInterceptor
    {
        _interceptors.Add(provider => ActivatorUtilities.CreateInstance<TInterceptor>(provider));
        return this;
    }

    internal ModelType Build(IServiceProvider provider) => new(name, _interceptors.Select(create => create(provider)).ToList());
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Unbundled.Log;
using Unbundled.Model;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Workers;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Hosting;

/// <summary>
/// Configures Unbundled in a service collection: model types, the log store, sink connectors,
/// projections and pipelines. It remembers what was registered so that pipelines.yaml is validated
/// against it before the host starts.
/// </summary>
public sealed class UnbundledBuilder(IServiceCollection services)
{
    private readonly List<string> _modelTypes = [];
    private readonly Dictionary<string, ISinkConnectorFactory> _connectors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IProjection> _projections = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pipelines = new(StringComparer.Ordinal);

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>The registered model type names.</summary>
    public IReadOnlyCollection<string> ModelTypes => _modelTypes;

    /// <summary>The registered sink connectors, by name.</summary>
    public IReadOnlyDictionary<string, ISinkConnectorFactory> SinkConnectors => _connectors;

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
        if (!_connectors.TryAdd(connector.Name, connector))
            throw new InvalidOperationException($"A sink connector named '{connector.Name}' is registered already.");
        Services.AddSingleton(connector);
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
        var document = new PipelinesFileLoader(KnownConnectors(), _projections, _modelTypes, environment).Load(path).Require();
        Services.AddSingleton(document);
        foreach (var pipeline in document.Pipelines) AddPipeline(pipeline);
        return this;
    }

    // Connectors a third party registered straight into the container (services.AddXyzSink()) count
    // as well as those added through this builder.
    private Dictionary<string, ISinkConnectorFactory> KnownConnectors()
    {
        var known = new Dictionary<string, ISinkConnectorFactory>(_connectors, StringComparer.Ordinal);
        foreach (var descriptor in Services.Where(d => d.ServiceType == typeof(ISinkConnectorFactory) && !d.IsKeyedService))
        {
            var factory = descriptor.ImplementationInstance as ISinkConnectorFactory
                ?? (descriptor.ImplementationType is { } type ? Activator.CreateInstance(type) as ISinkConnectorFactory : null);
            if (factory is not null) known.TryAdd(factory.Name, factory);
        }
        return known;
    }

    /// <summary>Runs a pipeline: one hosted worker keeps its view up to date. Its <see cref="PipelineTransform"/> is a keyed service under the pipeline's name.</summary>
    public UnbundledBuilder AddPipeline(PipelineDefinition pipeline)
    {
        if (!_pipelines.Add(pipeline.Name))
            throw new InvalidOperationException($"A pipeline named '{pipeline.Name}' is registered already.");
        var projection = pipeline.Projection switch
        {
            NamedProjection named => _projections.TryGetValue(named.Name, out var found)
                ? found
                : throw new InvalidOperationException($"Pipeline '{pipeline.Name}' names the projection '{named.Name}', which is not registered."),
            SelectProjection select => new Unbundled.Pipelines.Projection.SelectProjector(select),
            _ => throw new InvalidOperationException($"Pipeline '{pipeline.Name}' has no projection."),
        };
        var transform = new PipelineTransform(pipeline, projection);
        Services.AddKeyedSingleton(pipeline.Name, transform);
        Services.AddSingleton<IHostedService>(provider => new PipelineWorker(
            transform,
            provider.GetRequiredService<ICommandLog>(),
            provider.GetRequiredService<IPipelineStateStore>(),
            provider.GetRequiredService<PipelineMonitor>(),
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

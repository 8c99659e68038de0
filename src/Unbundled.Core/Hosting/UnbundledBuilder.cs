using Microsoft.Extensions.DependencyInjection;
using Unbundled.Model;

namespace Unbundled.Hosting;

/// <summary>Configures Unbundled in a service collection: model types, the log store, and later pipelines.</summary>
public sealed class UnbundledBuilder(IServiceCollection services)
{
    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; } = services;

    /// <summary>Registers a model type the master will accept, with its interceptors.</summary>
    public UnbundledBuilder AddModelType(string name, Action<ModelTypeBuilder>? configure = null)
    {
        var type = new ModelTypeBuilder(name);
        configure?.Invoke(type);
        Services.AddSingleton(type.Build);
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

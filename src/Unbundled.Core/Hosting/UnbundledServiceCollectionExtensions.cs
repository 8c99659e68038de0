using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Unbundled.Hosting;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Pipelines.Observability;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Unbundled's services.</summary>
public static class UnbundledServiceCollectionExtensions
{
    /// <summary>
    /// Adds the master model and its options (bound from <c>Unbundled:Master</c> when a configuration
    /// is given). A log store must be added too (<c>UseSqliteLog</c> or <c>UsePostgresLog</c>).
    /// </summary>
    public static UnbundledBuilder AddUnbundled(this IServiceCollection services, IConfiguration? configuration = null)
    {
        var options = services.AddOptions<MasterOptions>();
        if (configuration is not null) options.Bind(configuration.GetSection("Unbundled:Master"));
        var deadLetters = services.AddOptions<Unbundled.Pipelines.State.DeadLetterOptions>();
        if (configuration is not null) deadLetters.Bind(configuration.GetSection("Unbundled:Pipelines:DeadLetters"));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(provider => new ModelTypeRegistry(provider.GetServices<ModelType>()));
        services.TryAddSingleton<MasterModel>();
        services.TryAddSingleton<PipelineMonitor>();
        services.AddHostedService<CommandLogInitializer>();
        return new UnbundledBuilder(services);
    }
}

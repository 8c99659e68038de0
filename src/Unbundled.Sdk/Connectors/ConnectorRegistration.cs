using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>How every connector, ours or a third party's, makes itself known: <c>services.AddXyzSink()</c> calls <see cref="AddSinkConnector"/>.</summary>
public static class ConnectorRegistration
{
    /// <summary>Makes a sink connector available to pipelines under its name.</summary>
    public static IServiceCollection AddSinkConnector(this IServiceCollection services, ISinkConnectorFactory factory)
    {
        services.ConnectorCatalog().Add(factory);
        return services;
    }

    /// <summary>Makes a source connector available to pipelines under its name.</summary>
    public static IServiceCollection AddSourceConnector(this IServiceCollection services, ISourceConnectorFactory factory)
    {
        services.ConnectorCatalog().Add(factory);
        return services;
    }

    /// <summary>The collection's connector catalog, added on first use.</summary>
    public static ConnectorCatalog ConnectorCatalog(this IServiceCollection services)
    {
        if (services.FirstOrDefault(d => d.ServiceType == typeof(ConnectorCatalog))?.ImplementationInstance is ConnectorCatalog catalog) return catalog;
        catalog = new ConnectorCatalog();
        services.AddSingleton(catalog);
        return catalog;
    }
}

using Unbundled.Connectors.Ndjson;
using Unbundled.Connectors.Redis;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Connectors;
using Unbundled.Sources.CommandLog;
using Unbundled.TodoApp.Projections;
using Unbundled.Pipelines.Definition.Yaml;

namespace Unbundled.Tests.Pipelines.Definition;

/// <summary>A loader with the server's connectors, the demo's projection and model type, and a fixed environment.</summary>
internal static class PipelinesFileCorpus
{
    public static PipelinesFileLoader Loader(IReadOnlyDictionary<string, string>? environment = null, params ISinkConnectorFactory[] moreSinks)
    {
        var variables = environment ?? new Dictionary<string, string> { ["REDIS_URL"] = "127.0.0.1:6379" };
        var connectors = new ConnectorCatalog();
        connectors.Add(new CommandLogSourceFactory(["todo-list"]));
        connectors.Add(new RedisCacheSinkFactory());
        connectors.Add(new NdjsonFileSinkFactory());
        foreach (var sink in moreSinks) connectors.Add(sink);
        return new PipelinesFileLoader(
            connectors,
            new Dictionary<string, IProjection> { ["todo-items"] = new TodoItemsProjection() },
            new EnvironmentSubstitution(name => variables.GetValueOrDefault(name)));
    }

    /// <summary>A valid file the mistakes are made in.</summary>
    public const string Valid = """
        sources:
          lists:
            models: [todo-list]
        sinks:
          cache:
            connector: redis
            connection: ${REDIS_URL}
            key: "todo:{listId}:{id}"
            ttl: 1h
        pipelines:
          items:
            from: lists
            where: after.title != "x"
            projection: todo-items
            to: cache
            batch: { max-size: 200, max-delay: 10ms }
        """;
}

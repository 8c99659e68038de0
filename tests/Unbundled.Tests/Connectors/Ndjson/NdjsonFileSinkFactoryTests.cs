using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Connectors.Ndjson;
using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Connectors.Ndjson;

/// <summary>Registering the NDJSON connector and building sinks from bound options, as the engine does.</summary>
public sealed class NdjsonFileSinkFactoryTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static ISinkConnectorFactory RegisteredFactory(IServiceProvider services) =>
        Assert.Single(services.GetRequiredService<ConnectorCatalog>().Sinks.Values, factory => factory.Name == "ndjson");

    [Fact]
    public void Registering_twice_adds_one_factory_named_ndjson_with_its_options_type()
    {
        using var services = new ServiceCollection().AddNdjsonFileSink().AddNdjsonFileSink().BuildServiceProvider();

        var factory = RegisteredFactory(services);

        Assert.Equal(typeof(NdjsonFileOptions), factory.OptionsType);
    }

    [Fact]
    public void Validation_names_each_bad_option()
    {
        var factory = new NdjsonFileSinkFactory();

        var problems = factory.Validate(new NdjsonFileOptions { Directory = " ", CompactAfterBytes = 0 }).Select(p => p.Option);

        Assert.Equal(["directory", "compact-after-bytes"], problems);
        Assert.Empty(factory.Validate(new NdjsonFileOptions()));
    }

    [Fact]
    public async Task A_built_sink_keeps_its_view_in_the_directory_named_after_its_pipeline()
    {
        using var services = new ServiceCollection().AddLogging().AddNdjsonFileSink().BuildServiceProvider();
        var options = new NdjsonFileOptions { Directory = Path.Combine(_directory.Path, "{pipeline}") };

        await using (var sink = RegisteredFactory(services).Create(options, new SinkContext("todo-search", services)))
        {
            await sink.ConnectAsync(default);
            await sink.WriteAsync(new SinkBatch("todo-search", [SinkDocument.Upsert("a", 1, 1, new JsonObject { ["title"] = "milk" })], 1), default);
        }

        var snapshot = await File.ReadAllLinesAsync(Path.Combine(_directory.Path, "todo-search", "view.ndjson"));
        Assert.Equal(["""{"key":"a","version":1,"position":1,"op":"upsert","doc":{"title":"milk"}}""", """{"offset":1}"""], snapshot);
    }

    public void Dispose() => _directory.Dispose();
}

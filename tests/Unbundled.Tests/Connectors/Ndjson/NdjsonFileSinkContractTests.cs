using Microsoft.Extensions.Logging.Abstractions;
using Unbundled.Connectors.Ndjson;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Testing;

namespace Unbundled.Tests.Connectors.Ndjson;

/// <summary>The sink contract on the NDJSON connector, which is built on the public SDK alone.</summary>
public sealed class NdjsonFileSinkContractTests : SinkConnectorContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<ISinkConnector> CreateSinkAsync(string pipeline)
    {
        var sink = new NdjsonFileSink(new NdjsonFileOptions { Directory = Path.Combine(_directory.Path, pipeline) }, NullLogger<NdjsonFileSink>.Instance);
        await sink.ConnectAsync(default);
        return sink;
    }

    protected override Task LoseDataAsync(string pipeline)
    {
        Directory.Delete(Path.Combine(_directory.Path, pipeline), recursive: true);
        return Task.CompletedTask;
    }

    public void Dispose() => _directory.Dispose();
}

using Unbundled.Sdk.Sources;
using Unbundled.Sources.CommandLog;

namespace Unbundled.Tests.Pipelines;

/// <summary>
/// The command log source with hooks on its reads and acknowledgements, per generation of the pipeline's reader (lookup
/// readers pass through): to watch what the engine asks of a source, or to make a read fail as an outage would.
/// </summary>
public sealed class InterceptedLogSourceFactory : SourceConnectorFactory<CommandLogSourceOptions>
{
    /// <summary>Runs before each read of the pipeline's reader of a generation; throwing fails the read.</summary>
    public Action<int>? BeforeRead { get; init; }

    /// <summary>Runs on each acknowledgement of the pipeline's reader of a generation, with its offset.</summary>
    public Action<int, long>? OnAcknowledge { get; init; }

    /// <inheritdoc />
    public override string Name => "intercepted-log";

    /// <inheritdoc />
    protected override ISourceConnector Create(CommandLogSourceOptions options, SourceContext context)
    {
        var inner = new CommandLogSourceFactory([]).Create(options, context);
        return context.Lookup ? inner : new Intercepted(inner, this, context.Generation);
    }

    private sealed class Intercepted(ISourceConnector inner, InterceptedLogSourceFactory hooks, int generation) : ISourceConnector
    {
        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

        public Task<SourceBatch> ReadAsync(long afterOffset, int maxCount, CancellationToken cancellationToken)
        {
            hooks.BeforeRead?.Invoke(generation);
            return inner.ReadAsync(afterOffset, maxCount, cancellationToken);
        }

        public Task WaitAsync(long afterOffset, CancellationToken cancellationToken) => inner.WaitAsync(afterOffset, cancellationToken);

        public Task<long> ReadHeadAsync(CancellationToken cancellationToken) => inner.ReadHeadAsync(cancellationToken);

        public ValueTask AcknowledgeAsync(long offset, CancellationToken cancellationToken)
        {
            hooks.OnAcknowledge?.Invoke(generation, offset);
            return inner.AcknowledgeAsync(offset, cancellationToken);
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

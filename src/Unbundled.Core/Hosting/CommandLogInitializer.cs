using Microsoft.Extensions.Hosting;
using Unbundled.Log;
using Unbundled.Pipelines.State;

namespace Unbundled.Hosting;

/// <summary>Creates the command log's and the pipeline state's tables before anything else in the host runs.</summary>
internal sealed class CommandLogInitializer(ICommandLog log, IPipelineStateStore state) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await log.InitializeAsync(cancellationToken).ConfigureAwait(false);
        await state.InitializeAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

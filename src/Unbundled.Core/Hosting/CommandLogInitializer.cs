using Microsoft.Extensions.Hosting;
using Unbundled.Log;

namespace Unbundled.Hosting;

/// <summary>Creates the command log's tables before anything else in the host runs.</summary>
internal sealed class CommandLogInitializer(ICommandLog log) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => log.InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

using System.Net.ServerSentEvents;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Unbundled.Server.Api;
using Unbundled.Server.Api.OpenApi;
using Unbundled.Server.Security;

namespace Unbundled.Server.Status;

/// <summary>
/// The operator's status page: <c>GET /status</c> serves the page, a shell with no data in it, and
/// <c>GET /status/feed</c>, for administrators only, streams the server's status to it over Server-Sent
/// Events once a second. Dead letters, their replay and rebuilds go through the existing admin API.
/// </summary>
public static class StatusPageEndpoints
{
    private static readonly EmbeddedFiles Files = new("status/");

    /// <summary>Registers what the page's feed reads.</summary>
    public static IServiceCollection AddStatusPage(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<StatusSnapshots>();
        return services;
    }

    /// <summary>Maps the page, its script and stylesheet, and its feed.</summary>
    public static IEndpointRouteBuilder MapStatusPage(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/status", () => Files.Serve("status.html")).ExcludeFromDescription();
        routes.MapGet("/status/{file}", (string file) => Files.Serve(file)).ExcludeFromDescription();
        routes.MapGet("/status/feed", (HttpContext http, AccessGate gate, StatusSnapshots snapshots, IHostApplicationLifetime lifetime) =>
        {
            if (gate.Check(http, new AccessRequest(AccessAction.Admin)) is { } refused) return refused;
            // The feed ends with the request or with the server, whose stop would otherwise wait for every open page.
            var ending = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
            http.Response.RegisterForDispose(ending);
            return TypedResults.ServerSentEvents(Follow(snapshots, ending.Token));
        }).WithSummary("The server's status once a second over Server-Sent Events, as the status page shows it").Problems();
        return routes;
    }

    private static async IAsyncEnumerable<SseItem<StatusSnapshot>> Follow(StatusSnapshots snapshots, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = snapshots.FollowAsync(cancellationToken).WithCancellation(cancellationToken);
        await using var snapshot = stream.GetAsyncEnumerator();
        while (true)
        {
            try
            {
                if (!await snapshot.MoveNextAsync()) yield break;
            }
            catch (OperationCanceledException)
            {
                yield break;
            }
            yield return new SseItem<StatusSnapshot>(snapshot.Current, "status");
        }
    }
}

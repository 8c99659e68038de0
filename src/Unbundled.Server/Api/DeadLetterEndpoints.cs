using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Unbundled.Pipelines.DeadLetters;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Server.Api.OpenApi;
using Unbundled.Server.Security;

namespace Unbundled.Server.Api;

/// <summary>
/// A pipeline's dead letters, for administrators: list a page, show one, replay one, some or all through
/// the pipeline's current definition (after a fix), or drop one.
/// </summary>
public static class DeadLetterEndpoints
{
    private const string TypePrefix = "urn:unbundled:problem:";
    private static readonly AccessRequest Admin = new(AccessAction.Admin);

    /// <summary>How long a replay may wait for its pipeline's worker to take it (a stopped pipeline never will).</summary>
    private static readonly TimeSpan ReplayTimeout = TimeSpan.FromSeconds(60);

    private static readonly ProblemType UnknownPipeline = new(404, "unknown-pipeline", "no pipeline has that name");

    /// <summary>Maps <c>/pipelines/{name}/dead-letters</c>, <c>…/{id}</c> (GET, DELETE) and <c>…/replay</c> (POST).</summary>
    public static IEndpointRouteBuilder MapDeadLetterApi(this IEndpointRouteBuilder routes)
    {
        var letters = routes.MapGroup("/pipelines/{name}/dead-letters");
        letters.MapGet("/", ListAsync).WithSummary("A page of a pipeline's dead letters, with their reasons").Problems(UnknownPipeline);
        letters.MapGet("/{id:long}", ShowAsync).WithSummary("One dead letter: the event it holds and why it failed")
            .Problems(UnknownPipeline, new ProblemType(404, "dead-letter-not-found", "the pipeline has no dead letter with that id"));
        letters.MapDelete("/{id:long}", DropAsync).WithSummary("Drop a dead letter without replaying it")
            .Problems(UnknownPipeline, new ProblemType(404, "dead-letter-not-found", "the pipeline has no dead letter with that id"));
        letters.MapPost("/replay", ReplayAsync)
            .WithSummary("Replay dead letters through the pipeline's current definition: {\"ids\": [...]}, a page {\"after\": n, \"limit\": m}, or {\"all\": true}")
            .Problems(UnknownPipeline,
                new ProblemType(400, "malformed-request", "the body names no ids, no page and not all"),
                new ProblemType(503, "pipeline-not-running", "the pipeline's worker did not take the replay in time (stopped, or busy with a long batch)"));
        return routes;
    }

    private static async Task<IResult> ListAsync(string name, long? after, int? limit, HttpContext http, AccessGate gate, PipelineMonitor monitor,
        IPipelineStateStore state, CancellationToken cancellationToken)
    {
        if (gate.Check(http, Admin) is { } refused) return refused;
        if (!monitor.TryGet(name, out _)) return PipelineEndpoints.UnknownPipeline(name, monitor);
        var page = Math.Clamp(limit ?? 100, 1, 1000);
        var letters = await state.ReadDeadLettersAsync(name, after ?? 0, page, cancellationToken);
        var dropped = await state.CountDroppedDeadLettersAsync(name, cancellationToken);
        return Results.Ok(new { pipeline = name, total = await state.CountDeadLettersAsync(name, cancellationToken), dropped, deadLetters = letters, next = letters.Count == page ? letters[^1].Id : (long?)null });
    }

    private static async Task<IResult> ShowAsync(string name, long id, HttpContext http, AccessGate gate, PipelineMonitor monitor,
        IPipelineStateStore state, CancellationToken cancellationToken)
    {
        if (gate.Check(http, Admin) is { } refused) return refused;
        if (!monitor.TryGet(name, out _)) return PipelineEndpoints.UnknownPipeline(name, monitor);
        return await FindAsync(state, name, id, cancellationToken) is { } letter ? Results.Ok(letter) : NotFound(name, id);
    }

    private static async Task<IResult> DropAsync(string name, long id, HttpContext http, AccessGate gate, PipelineMonitor monitor,
        IPipelineStateStore state, CancellationToken cancellationToken)
    {
        if (gate.Check(http, Admin) is { } refused) return refused;
        if (!monitor.TryGet(name, out _)) return PipelineEndpoints.UnknownPipeline(name, monitor);
        return await state.RemoveDeadLetterAsync(name, id, cancellationToken) ? Results.NoContent() : NotFound(name, id);
    }

    private static async Task<IResult> ReplayAsync(string name, ReplayRequest? request, HttpContext http, AccessGate gate, PipelineMonitor monitor,
        DeadLetterReplays replays, CancellationToken cancellationToken)
    {
        if (gate.Check(http, Admin) is { } refused) return refused;
        if (!monitor.TryGet(name, out _)) return PipelineEndpoints.UnknownPipeline(name, monitor);
        DeadLetterSelection? selection = request switch
        {
            { Ids: { Count: > 0 } ids } => new DeadLetterSelection(ids),
            { All: true } => new DeadLetterSelection(),
            { Limit: > 0 and var limit } => new DeadLetterSelection(AfterId: request.After ?? 0, Limit: limit),
            _ => null,
        };
        if (selection is null)
            return Results.Problem("name the letters to replay: {\"ids\": [1, 2]}, a page {\"after\": 0, \"limit\": 100}, or {\"all\": true}",
                statusCode: StatusCodes.Status400BadRequest, title: "Malformed request", type: TypePrefix + "malformed-request");
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReplayTimeout);
        try
        {
            var outcomes = await replays.ReplayAsync(name, selection, deadline.Token);
            if (outcomes is null) return PipelineEndpoints.UnknownPipeline(name, monitor);
            return Results.Ok(new { pipeline = name, replayed = outcomes.Count(o => o.Written), failedAgain = outcomes.Count(o => !o.Written), letters = outcomes });
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Results.Problem($"pipeline '{name}' did not take the replay within {ReplayTimeout.TotalSeconds:0} s; is it running? (GET /pipelines/{name})",
                statusCode: StatusCodes.Status503ServiceUnavailable, title: "Pipeline not running", type: TypePrefix + "pipeline-not-running");
        }
    }

    private static async Task<DeadLetter?> FindAsync(IPipelineStateStore state, string pipeline, long id, CancellationToken cancellationToken) =>
        id < 1 ? null : (await state.ReadDeadLettersAsync(pipeline, id - 1, 1, cancellationToken)) is [var letter] && letter.Id == id ? letter : null;

    private static IResult NotFound(string pipeline, long id) =>
        Results.Problem($"pipeline '{pipeline}' has no dead letter {id}", statusCode: StatusCodes.Status404NotFound, title: "Dead letter not found", type: TypePrefix + "dead-letter-not-found");

    /// <summary>The body of a replay: letters by id, a page, or all.</summary>
    /// <param name="Ids">These letters.</param>
    /// <param name="After">With <paramref name="Limit"/>: the page after this id.</param>
    /// <param name="Limit">The page's size.</param>
    /// <param name="All">Every letter of the pipeline.</param>
    public sealed record ReplayRequest(IReadOnlyList<long>? Ids, long? After, int? Limit, bool All);
}

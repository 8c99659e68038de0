using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Unbundled.Pipelines.Observability;
using Unbundled.Pipelines.State;
using Unbundled.Pipelines.Views;
using Unbundled.Sdk.Sinks;
using Unbundled.Pipelines;
using Unbundled.Pipelines.Replay;
using Unbundled.Server.Security;
using Microsoft.Extensions.DependencyInjection;

using Unbundled.Server.Api.OpenApi;
using Unbundled.Pipelines.Rebuild;

namespace Unbundled.Server.Api;

/// <summary>The pipelines' HTTP API: status, dead letters, and reads of views that can wait for a flush's position.</summary>
public static class PipelineEndpoints
{
    private const string TypePrefix = "urn:unbundled:problem:";
    private static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(30);

    /// <summary>The most hits one page answers.</summary>
    private const int MaxSearchPage = 1000;

    /// <summary>How deep pages may reach (from + limit), as Elasticsearch bounds its result window.</summary>
    private const int MaxSearchWindow = 10_000;

    /// <summary>Maps <c>/pipelines</c>, <c>/pipelines/{name}</c>, its rebuild, <c>/views/{pipeline}/{key}</c> and <c>/search/{pipeline}</c>.</summary>
    public static IEndpointRouteBuilder MapPipelineApi(this IEndpointRouteBuilder routes)
    {
        var admin = new AccessRequest(AccessAction.Admin);
        routes.MapGet("/pipelines", async (HttpContext http, AccessGate gate, PipelineMonitor monitor, PipelineCatalog pipelines, IPipelineReplay sources, CancellationToken cancellationToken) =>
        {
            if (gate.Check(http, admin) is { } refused) return refused;
            return Results.Ok(await ReadStatusesAsync(monitor, pipelines, sources, cancellationToken));
        }).WithSummary("Every pipeline's status: state, offset, lag, rate, errors, rebuild").Problems();
        routes.MapGet("/pipelines/{name}", async (string name, HttpContext http, AccessGate gate, PipelineMonitor monitor, IPipelineReplay sources, CancellationToken cancellationToken) =>
            gate.Check(http, admin) ?? (monitor.TryGet(name, out var progress)
                ? Results.Ok(await StatusAsync(progress, sources, [], [], name, cancellationToken))
                : UnknownPipeline(name, monitor)))
            .WithSummary("One pipeline's status")
            .Problems(new ProblemType(404, "unknown-pipeline", "no pipeline has that name"));
        routes.MapPost("/pipelines/{name}/rebuild", async (string name, HttpContext http, AccessGate gate, PipelineMonitor monitor, PipelineViews views, RebuildRequests rebuilds, IPipelineReplay sources, CancellationToken cancellationToken) =>
        {
            if (gate.Check(http, admin) is { } refused) return refused;
            if (!monitor.TryGet(name, out var progress) || views.Find(name) is not { } view) return UnknownPipeline(name, monitor);
            if (view.Sink is null) return NotReady(name);
            if (view.Sink is not IGenerationalSink)
                return Results.Problem($"pipeline '{name}' writes to a sink that cannot keep two generations of its view apart, so it cannot be rebuilt beside itself",
                    statusCode: StatusCodes.Status400BadRequest, title: "Not rebuildable", type: TypePrefix + "not-rebuildable");
            if (rebuilds.Find(name)?.TryRequest() != true)
                return Results.Problem($"pipeline '{name}' is already rebuilding its view (generation {progress.RebuildGeneration?.ToString() ?? (progress.Generation + 1).ToString()})",
                    statusCode: StatusCodes.Status409Conflict, title: "Rebuild running", type: TypePrefix + "rebuild-running");
            return Results.Accepted($"/pipelines/{name}", await StatusAsync(progress, sources, [], [], name, cancellationToken));
        }).WithSummary("Rebuild a pipeline's view as a new generation beside the live one")
            .Problems(
                new(400, "not-rebuildable", "the sink cannot keep two generations apart"),
                new(404, "unknown-pipeline", "no pipeline has that name"),
                new(409, "rebuild-running", "a rebuild is requested or running already"),
                new(503, "view-not-ready", "the worker has not connected its sink yet"));
        routes.MapGet("/views/{pipeline}/{**key}", ReadViewAsync)
            .WithSummary("One document of a view; atPosition waits until the view holds a flush's position")
            .Problems(
                new(403, "forbidden", "the view declares no owner field and the caller belongs to a tenant"),
                new(404, "unknown-pipeline", "no pipeline has that name"),
                new(404, "document-not-found", "the view has no such document (or it is another tenant's)"),
                new(503, "view-not-ready", "the worker has not connected its sink yet"),
                new(504, "view-behind", "the view did not reach atPosition within timeoutMs"));
        routes.MapGet("/search/{pipeline}", SearchAsync)
            .WithSummary("Search a view; atPosition waits until the view holds a flush's position")
            .Problems(
                new(400, "not-searchable", "the pipeline's sink cannot search"),
                new(400, "invalid-query", "no query, a query the engine cannot parse, or a page past the result window"),
                new(404, "unknown-pipeline", "no pipeline has that name"),
                new(503, "view-not-ready", "the worker has not connected its sink yet"),
                new(504, "view-behind", "the view did not reach atPosition within timeoutMs"));
        return routes;
    }

    private static async Task<IResult> ReadViewAsync(string pipeline, string key, long? atPosition, int? timeoutMs, HttpContext http, AccessGate gate,
        PipelineMonitor monitor, PipelineViews views, PipelineCatalog pipelines, CancellationToken cancellationToken)
    {
        if (gate.Check(http, new AccessRequest(AccessAction.ReadView, Pipeline: pipeline), out var caller) is { } refused) return refused;
        if (!monitor.TryGet(pipeline, out var progress) || views.Find(pipeline) is not { } view) return UnknownPipeline(pipeline, monitor);
        var tenancy = OwnerFilter(pipelines, pipeline, caller);
        if (tenancy?.Refusal is { } noOwner) return noOwner;
        if (atPosition is { } position && progress.Offset < position)
        {
            var wait = TimeSpan.FromMilliseconds(Math.Clamp(timeoutMs ?? 5000, 0, (int)MaxWait.TotalMilliseconds));
            try
            {
                await progress.WaitForOffsetAsync(position, wait, cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Results.Problem($"pipeline '{pipeline}' is at position {progress.Offset} and did not reach {position} within {wait.TotalMilliseconds:0} ms",
                    statusCode: StatusCodes.Status504GatewayTimeout, title: "View not caught up", type: TypePrefix + "view-behind",
                    extensions: new Dictionary<string, object?> { ["offset"] = progress.Offset, ["atPosition"] = position });
            }
        }
        if (view.Sink is not { } sink) return NotReady(pipeline);
        var document = await sink.ReadAsync(key, cancellationToken);
        // Another tenant's document reads exactly like a missing one.
        if (document is not null && tenancy?.Filter is { } filter && !filter.Admits(document)) document = null;
        return document is null
            ? Results.Problem($"pipeline '{pipeline}' has no document '{key}'", statusCode: StatusCodes.Status404NotFound, title: "Document not found", type: TypePrefix + "document-not-found",
                extensions: new Dictionary<string, object?> { ["offset"] = progress.Offset })
            : Results.Ok(new { pipeline, key, offset = progress.Offset, document });
    }

    private static async Task<IResult> SearchAsync(string pipeline, string? q, int? limit, int? from, long? atPosition, int? timeoutMs, HttpContext http, AccessGate gate,
        PipelineMonitor monitor, PipelineViews views, PipelineCatalog pipelines, CancellationToken cancellationToken)
    {
        if (gate.Check(http, new AccessRequest(AccessAction.Search, Pipeline: pipeline), out var caller) is { } refused) return refused;
        if (!monitor.TryGet(pipeline, out var progress) || views.Find(pipeline) is not { } view) return UnknownPipeline(pipeline, monitor);
        var tenancy = OwnerFilter(pipelines, pipeline, caller);
        if (tenancy?.Refusal is { } noOwner) return noOwner;
        if (view.Sink is null) return NotReady(pipeline);
        if (view.Sink is not ISearchableSink searchable)
            return Results.Problem($"pipeline '{pipeline}' writes to a sink that cannot search", statusCode: StatusCodes.Status400BadRequest,
                title: "Not searchable", type: TypePrefix + "not-searchable");
        if (string.IsNullOrWhiteSpace(q))
            return Results.Problem("pass the query as ?q=…", statusCode: StatusCodes.Status400BadRequest, title: "Missing query", type: TypePrefix + "invalid-query");
        if (atPosition is { } position && progress.Offset < position)
        {
            try
            {
                await progress.WaitForOffsetAsync(position, TimeSpan.FromMilliseconds(Math.Clamp(timeoutMs ?? 5000, 0, (int)MaxWait.TotalMilliseconds)), cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Results.Problem($"pipeline '{pipeline}' is at position {progress.Offset} and did not reach {position} in time",
                    statusCode: StatusCodes.Status504GatewayTimeout, title: "View not caught up", type: TypePrefix + "view-behind");
            }
        }
        try
        {
            var page = Math.Clamp(limit ?? 10, 1, MaxSearchPage);
            var skip = Math.Max(0, from ?? 0);
            if (skip + page > MaxSearchWindow)
                return Results.Problem($"from + limit may not pass {MaxSearchWindow}; narrow the query instead of paging deeper", statusCode: StatusCodes.Status400BadRequest,
                    title: "Result window too large", type: TypePrefix + "invalid-query");
            var result = await searchable.SearchAsync(new SearchRequest(q, page, skip, tenancy?.Filter), cancellationToken);
            return Results.Ok(new { pipeline, offset = progress.Offset, total = result.Total, from = skip, hits = result.Hits });
        }
        catch (InvalidQueryException invalid)
        {
            return Results.Problem(invalid.Message, statusCode: StatusCodes.Status400BadRequest, title: "Invalid query", type: TypePrefix + "invalid-query");
        }
    }

    /// <summary>
    /// What a caller of a tenant may see of a view: only documents whose declared owner field names its
    /// tenant. A view that declares no owner field is closed to tenant callers, since nothing says whose its documents are.
    /// </summary>
    private static (DocumentFilter? Filter, IResult? Refusal)? OwnerFilter(PipelineCatalog pipelines, string pipeline, Caller caller)
    {
        if (caller.Tenant is not { } tenant) return null;
        var owner = pipelines.Find(pipeline)?.Definition.Owner;
        return owner is null
            ? (null, Results.Problem($"the view '{pipeline}' declares no owner field, so callers of a tenant cannot read it", statusCode: StatusCodes.Status403Forbidden,
                title: "Forbidden", type: TypePrefix + "forbidden"))
            : (new DocumentFilter(owner, tenant), null);
    }

    private static IResult NotReady(string pipeline) =>
        Results.Problem($"pipeline '{pipeline}' has not connected to its sink yet", statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "View not ready", type: TypePrefix + "view-not-ready");

    /// <summary>Every pipeline's status, as <c>/pipelines</c> and the status page's feed answer it.</summary>
    internal static async Task<List<PipelineStatus>> ReadStatusesAsync(PipelineMonitor monitor, PipelineCatalog pipelines, IPipelineReplay sources, CancellationToken cancellationToken)
    {
        // Pipelines reading one declared source share its head: one read per source, not per pipeline, and one
        // failure too (N pipelines on a source that is down would otherwise wait out N connect timeouts).
        var heads = new Dictionary<string, long>(StringComparer.Ordinal);
        var failures = new Dictionary<string, string>(StringComparer.Ordinal);
        var statuses = new List<PipelineStatus>();
        foreach (var progress in monitor.Pipelines)
            statuses.Add(await StatusAsync(progress, sources, heads, failures, pipelines.Find(progress.Pipeline)?.Definition.Source.Name ?? progress.Pipeline, cancellationToken));
        return statuses;
    }

    /// <summary>
    /// A pipeline's status against its source's head, read once per <paramref name="source"/> into <paramref name="heads"/>.
    /// A source out of reach (its database down, a slot being created) is reported in the status, not as a failed request:
    /// status is what an operator reads when something is wrong.
    /// </summary>
    private static async Task<PipelineStatus> StatusAsync(PipelineProgress progress, IPipelineReplay sources, Dictionary<string, long> heads,
        Dictionary<string, string> failures, string source, CancellationToken cancellationToken)
    {
        if (failures.TryGetValue(source, out var known)) return PipelineStatus.From(progress, progress.Head) with { Source = Failed(known) };
        long head;
        try
        {
            if (!heads.TryGetValue(source, out head)) heads[source] = head = await sources.ReadHeadAsync(progress.Pipeline, cancellationToken);
        }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested)
        {
            return PipelineStatus.From(progress, progress.Head) with { Source = Failed(failures[source] = error.Message) };
        }
        IReadOnlyDictionary<string, string>? described;
        try { described = await sources.DescribeSourceAsync(progress.Pipeline, cancellationToken); }
        catch (Exception error) when (!cancellationToken.IsCancellationRequested) { described = Failed(error.Message); }
        // A consumer group's reader of status holds no partitions: the head its worker saw may be the better one.
        return PipelineStatus.From(progress, Math.Max(head, progress.Head)) with { Source = described };
    }

    private static Dictionary<string, string> Failed(string error) => new() { ["error"] = error };

    internal static IResult UnknownPipeline(string name, PipelineMonitor monitor) =>
        Results.Problem($"there is no pipeline '{name}' (pipelines: {string.Join(", ", monitor.Pipelines.Select(p => p.Pipeline))})",
            statusCode: StatusCodes.Status404NotFound, title: "Unknown pipeline", type: TypePrefix + "unknown-pipeline");
}

/// <summary>One pipeline's status on the wire.</summary>
public sealed record PipelineStatus(string Name, PipelineState State, long Offset, long Head, long LagEvents, double LagSeconds,
    double EventsPerSecond, long Events, long Errors, long DeadLetters, string? LastError, int Generation = 0, RebuildStatus? Rebuild = null, bool Stale = false,
    int Repairs = 0, string? LastRepair = null)
{
    /// <summary>How the source's server-side cursor stands (a replication slot's <c>walStatus</c> and retained WAL), when the source says.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Source { get; init; }

    /// <summary>The server instance that runs the pipeline (the lease holder), when one instance at a time does.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Owner { get; init; }

    /// <summary>The status of a pipeline against its source's current head.</summary>
    public static PipelineStatus From(PipelineProgress progress, long head)
    {
        var lag = Math.Max(0, head - progress.Offset);
        return new PipelineStatus(progress.Pipeline, progress.State, progress.Offset, head, lag, lag == 0 ? 0 : Math.Round(progress.LagSeconds, 3),
            Math.Round(progress.EventsPerSecond, 1), progress.Events, progress.Errors, progress.DeadLetters, progress.LastError,
            progress.Generation, progress.RebuildGeneration is { } building ? new RebuildStatus(building, progress.RebuildOffset) : null, progress.Stale,
            progress.Repairs, progress.LastRepair) { Owner = progress.Owner };
    }
}

/// <summary>A rebuild under way: the generation it writes and the source offset it has reached.</summary>
public sealed record RebuildStatus(int Generation, long Offset);

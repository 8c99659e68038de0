using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Server.Security;

using Unbundled.Server.Api.OpenApi;

namespace Unbundled.Server.Api;

/// <summary>The master model's HTTP API: flush, read a model, read its commands since a version.</summary>
public static class ModelEndpoints
{
    // Duplicate member names are refused: readers disagree on which one wins, so such a flush could mean two things.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { AllowDuplicateProperties = false };

    /// <summary>Maps <c>/models/{type}/{id}</c>, <c>…/flush</c> and <c>…/commands</c>.</summary>
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/models/{type}/{id}");
        models.MapPost("/flush", FlushAsync)
            .WithSummary("Flush commands to a model: applied after those the client missed, appended to the log; answers what the client lacks")
            .Produces<FlushResponse>()
            .Problems(
                new(400, "malformed-json", "the body is not a flush; detail says where"),
                new(400, "malformed-request", "a negative baseVersion or an empty model id"),
                new(400, "invalid-path", "a path is not a JSON Pointer; commandIndex names the command"),
                new(400, "malformed-body", "the body was cut short"),
                new(404, "unknown-model-type", "the model type is not registered"),
                new(408, "body-timeout", "the body came too slowly"),
                new(409, "item-missing", "a command addresses an item by key that is gone"),
                new(409, "version-ahead", "baseVersion is above the master's version"),
                new(413, "flush-too-large", "over Unbundled:Server:MaxFlushBytes or Unbundled:Master:MaxCommandsPerFlush"),
                new(415, "unsupported-media-type", "the body is not application/json"),
                new(422, "command-rejected", "a command does not fit the document or an interceptor refused it"));
        models.MapGet("/", ReadAsync)
            .WithSummary("A model's state and version")
            .Problems(new ProblemType(400, "malformed-request", "an empty model id"), new(404, "unknown-model-type", "the model type is not registered"));
        models.MapGet("/commands", ReadCommandsAsync)
            .WithSummary("A model's commands after a version, or a snapshot when that is smaller")
            .Problems(new ProblemType(400, "malformed-request", "a negative version or an empty model id"), new(404, "unknown-model-type", "the model type is not registered"));
        return routes;
    }

    private static async Task<IResult> FlushAsync(string type, string id, HttpContext http, MasterModel master,
        IOptions<ServerOptions> options, AccessGate gate, CancellationToken cancellationToken)
    {
        if (gate.Check(http, new AccessRequest(AccessAction.Write, ModelType: type), out var caller) is { } refused) return refused;
        // Only JSON: a web page can post a form or text/plain to a local server without a CORS preflight, never JSON.
        if (!http.Request.HasJsonContentType())
            return Results.Problem($"a flush is JSON: send Content-Type: application/json (got '{http.Request.ContentType}')", statusCode: StatusCodes.Status415UnsupportedMediaType,
                title: "Unsupported media type", type: "urn:unbundled:problem:unsupported-media-type");
        var limit = options.Value.MaxFlushBytes;
        if (http.Request.ContentLength > limit) return FlushProblems.TooLarge(limit);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize) bodySize.MaxRequestBodySize = limit;

        FlushBody? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<FlushBody>(http.Request.Body, Json, cancellationToken);
        }
        catch (JsonException error)
        {
            return FlushProblems.MalformedJson(error.Message);
        }
        catch (ArgumentException error)
        {
            // JsonObject refuses a member name it already holds while a value is read.
            return FlushProblems.MalformedJson($"a JSON object has a member twice: {error.Message}");
        }
        catch (BadHttpRequestException error) when (error.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return FlushProblems.TooLarge(limit);
        }
        catch (BadHttpRequestException error)
        {
            // A body cut short, or sent slower than Kestrel's minimum data rate (408).
            return FlushProblems.BadBody(error.StatusCode, error.Message);
        }
        catch (IOException error)
        {
            return FlushProblems.BadBody(StatusCodes.Status400BadRequest, error.Message);
        }
        if (body is null) return FlushProblems.MalformedJson("the body is JSON null; expected {\"baseVersion\": …, \"commands\": […]}");
        if (body.Commands is null) return FlushProblems.MalformedJson("'commands' is missing or null; send [] for a flush that only catches up");
        if (body.Commands.Any(command => command is null)) return FlushProblems.MalformedJson($"command {body.Commands.ToList().IndexOf(null!)} is null");
        var idempotencyKey = http.Request.Headers["Idempotency-Key"] is [{ } header] ? header : body.IdempotencyKey;
        if (idempotencyKey is not null && !Master.FlushIdempotency.IsValidKey(idempotencyKey))
            return FlushProblems.MalformedJson("the idempotency key must be 1 to 128 printable ASCII characters");

        try
        {
            var result = await master.FlushAsync(new FlushRequest(new ModelKey(type, id), body.BaseVersion, body.Commands, caller.Name, caller.Tenant, idempotencyKey), cancellationToken);
            return Results.Ok(FlushResponse.From(result));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }

    private static async Task<IResult> ReadAsync(string type, string id, HttpContext http, MasterModel master, AccessGate gate, CancellationToken cancellationToken)
    {
        if (gate.Check(http, new AccessRequest(AccessAction.ReadModel, ModelType: type), out var caller) is { } refused) return refused;
        try
        {
            var state = await master.ReadAsync(new ModelKey(type, id), caller.Tenant, cancellationToken);
            return Results.Ok(new ModelResponse(type, id, state.Version, state.LastPosition, state.Document));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }

    private static async Task<IResult> ReadCommandsAsync(string type, string id, long? since, int? limit, HttpContext http, MasterModel master, AccessGate gate,
        CancellationToken cancellationToken)
    {
        if (gate.Check(http, new AccessRequest(AccessAction.ReadModel, ModelType: type), out var caller) is { } refused) return refused;
        try
        {
            // Paged: a model's whole history in one answer would let one request hold the server.
            var page = Math.Clamp(limit ?? 1000, 1, 10_000);
            var entries = await master.ReadCommandsAsync(new ModelKey(type, id), since ?? 0, page, caller.Tenant, cancellationToken);
            return Results.Ok(new CommandsResponse(type, id, since ?? 0, entries.Select(EntryDto.From).ToList(), entries.Count == page ? entries[^1].Version : null));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }
}

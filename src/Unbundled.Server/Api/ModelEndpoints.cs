using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Unbundled.Master;
using Unbundled.Model;

namespace Unbundled.Server.Api;

/// <summary>The master model's HTTP API: flush, read a model, read its commands since a version.</summary>
public static class ModelEndpoints
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Maps <c>/models/{type}/{id}</c>, <c>…/flush</c> and <c>…/commands</c>.</summary>
    public static IEndpointRouteBuilder MapModelApi(this IEndpointRouteBuilder routes)
    {
        var models = routes.MapGroup("/models/{type}/{id}");
        models.MapPost("/flush", FlushAsync);
        models.MapGet("/", ReadAsync);
        models.MapGet("/commands", ReadCommandsAsync);
        return routes;
    }

    private static async Task<IResult> FlushAsync(string type, string id, HttpContext http, MasterModel master,
        IOptions<ServerOptions> options, CancellationToken cancellationToken)
    {
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
        catch (BadHttpRequestException error) when (error.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return FlushProblems.TooLarge(limit);
        }
        if (body is null) return FlushProblems.MalformedJson("the body is JSON null; expected {\"baseVersion\": …, \"commands\": […]}");

        try
        {
            var caller = Caller(http, options.Value);
            var result = await master.FlushAsync(new FlushRequest(new ModelKey(type, id), body.BaseVersion, body.Commands, caller), cancellationToken);
            return Results.Ok(FlushResponse.From(result));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }

    private static async Task<IResult> ReadAsync(string type, string id, MasterModel master, CancellationToken cancellationToken)
    {
        try
        {
            var state = await master.ReadAsync(new ModelKey(type, id), cancellationToken);
            return Results.Ok(new ModelResponse(type, id, state.Version, state.LastPosition, state.Document));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }

    private static async Task<IResult> ReadCommandsAsync(string type, string id, long? since, MasterModel master, CancellationToken cancellationToken)
    {
        try
        {
            var entries = await master.ReadCommandsAsync(new ModelKey(type, id), since ?? 0, cancellationToken);
            return Results.Ok(new CommandsResponse(type, id, since ?? 0, entries.Select(EntryDto.From).ToList()));
        }
        catch (FlushRejectedException rejection)
        {
            return FlushProblems.From(rejection);
        }
    }

    private static string Caller(HttpContext http, ServerOptions options)
    {
        if (http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name }) return name;
        if (options.TrustedUserHeader is { } header && http.Request.Headers[header] is [{ Length: > 0 } claimed]) return claimed;
        return "anonymous";
    }
}

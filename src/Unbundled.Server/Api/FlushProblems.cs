using Microsoft.AspNetCore.Http;
using Unbundled.Master;

namespace Unbundled.Server.Api;

/// <summary>RFC 7807 problem responses for everything a client can get wrong.</summary>
internal static class FlushProblems
{
    private const string TypePrefix = "urn:unbundled:problem:";

    public static IResult From(FlushRejectedException rejection) => rejection.Error switch
    {
        FlushError.UnknownModelType => Problem(StatusCodes.Status404NotFound, "unknown-model-type", "Unknown model type", rejection),
        FlushError.InvalidPath => Problem(StatusCodes.Status400BadRequest, "invalid-path", "Invalid command path", rejection),
        FlushError.CommandRejected => Problem(StatusCodes.Status422UnprocessableEntity, "command-rejected", "Command rejected", rejection),
        FlushError.ItemMissing => Problem(StatusCodes.Status409Conflict, "item-missing", "Addressed item is gone", rejection),
        FlushError.VersionAhead => Problem(StatusCodes.Status409Conflict, "version-ahead", "Base version ahead of the master", rejection),
        FlushError.TooLarge => Problem(StatusCodes.Status413PayloadTooLarge, "flush-too-large", "Flush too large", rejection),
        FlushError.NotFound => Problem(StatusCodes.Status404NotFound, "model-not-found", "Model not found", rejection),
        _ => Problem(StatusCodes.Status400BadRequest, "malformed-request", "Malformed request", rejection),
    };

    public static IResult MalformedJson(string detail) =>
        Results.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Malformed JSON", type: TypePrefix + "malformed-json");

    public static IResult BadBody(int status, string detail) =>
        Results.Problem($"the request body could not be read: {detail}", statusCode: status,
            title: status == StatusCodes.Status408RequestTimeout ? "Body too slow" : "Body cut short", type: TypePrefix + (status == StatusCodes.Status408RequestTimeout ? "body-timeout" : "malformed-body"));

    public static IResult TooLarge(long limit) =>
        Results.Problem($"the flush body is larger than the {limit} bytes accepted", statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "Flush too large", type: TypePrefix + "flush-too-large");

    private static IResult Problem(int status, string type, string title, FlushRejectedException rejection)
    {
        var extensions = rejection.CommandIndex is { } index
            ? new Dictionary<string, object?> { ["commandIndex"] = index, ["command"] = rejection.Command, ["reason"] = rejection.Message }
            : null;
        var detail = rejection.CommandIndex is { } at
            ? $"command {at}{(rejection.Command is null ? "" : $" ({rejection.Command})")}: {rejection.Message}"
            : rejection.Message;
        return Results.Problem(detail, statusCode: status, title: title, type: TypePrefix + type, extensions: extensions);
    }
}

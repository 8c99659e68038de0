using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Server.Api.OpenApi;

/// <summary>One RFC 7807 problem an endpoint may answer with: its status, its type (after <c>urn:unbundled:problem:</c>) and when.</summary>
public sealed record ProblemType(int Status, string Type, string When);

/// <summary>Endpoint metadata: the problem types an endpoint answers with, which the OpenAPI document lists on each response.</summary>
public sealed record ProblemTypesMetadata(IReadOnlyList<ProblemType> Types);

/// <summary>Declares an endpoint's problem types once, for both the response metadata and the OpenAPI description.</summary>
public static class ProblemTypeDeclarations
{
    /// <summary>Problems every endpoint behind the access gate may answer with.</summary>
    public static readonly ProblemType[] Gate =
    [
        new(StatusCodes.Status401Unauthorized, "unauthenticated", "no credentials, or credentials that are not valid"),
        new(StatusCodes.Status403Forbidden, "forbidden", "the caller's role or tenant does not allow this"),
        new(StatusCodes.Status429TooManyRequests, "rate-limited", "the caller's request budget is spent; retry after the Retry-After header"),
    ];

    /// <summary>Adds the problem types to the endpoint: an <c>application/problem+json</c> response per status, described in OpenAPI.</summary>
    public static TBuilder Problems<TBuilder>(this TBuilder endpoint, params ProblemType[] types) where TBuilder : IEndpointConventionBuilder
    {
        ProblemType[] all = [.. Gate, .. types];
        endpoint.WithMetadata(new ProblemTypesMetadata(all));
        foreach (var status in all.Select(t => t.Status).Distinct())
            endpoint.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), ["application/problem+json"]));
        return endpoint;
    }
}

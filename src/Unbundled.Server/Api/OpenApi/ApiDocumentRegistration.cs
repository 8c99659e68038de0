using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Unbundled.Server.Api.OpenApi;

/// <summary>The HTTP API described by OpenAPI (Microsoft.AspNetCore.OpenApi), served at <c>/openapi/v1.json</c>.</summary>
public static class ApiDocumentRegistration
{
    /// <summary>The path the document is served at.</summary>
    public const string DocumentPath = "/openapi/v1.json";

    private const string TypePrefix = "urn:unbundled:problem:";

    /// <summary>Generates the document from the endpoints, listing each response's problem types in its description.</summary>
    public static IServiceCollection AddUnbundledApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Unbundled",
                    Version = "v1",
                    Description = "Flush commands to the master model, read derived views (optionally at a flush's position), follow push feeds, and operate pipelines. Errors are RFC 7807 problems whose type is urn:unbundled:problem:<name>.",
                };
                return Task.CompletedTask;
            });
            options.AddOperationTransformer((operation, context, _) =>
            {
                var declared = context.Description.ActionDescriptor.EndpointMetadata.OfType<ProblemTypesMetadata>().LastOrDefault();
                if (declared is null || operation.Responses is null) return Task.CompletedTask;
                foreach (var status in declared.Types.GroupBy(t => t.Status))
                {
                    if (operation.Responses.TryGetValue(status.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), out var response) && response is OpenApiResponse described)
                        described.Description = string.Join("; ", status.Select(t => $"{TypePrefix}{t.Type}: {t.When}"));
                }
                return Task.CompletedTask;
            });
        });

    /// <summary>Serves the document; it describes the API, so anyone who may reach the server may read it.</summary>
    public static IEndpointRouteBuilder MapUnbundledApiDocument(this IEndpointRouteBuilder routes)
    {
        routes.MapOpenApi(DocumentPath);
        return routes;
    }
}

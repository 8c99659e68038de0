using System.Net.Http.Headers;

namespace Unbundled.Cli.Verbs;

/// <summary>The HTTP client the CLI's verbs talk to a server with: the API key in <c>UNBUNDLED_API_KEY</c>, when set, authenticates them.</summary>
internal static class ServerHttp
{
    /// <summary>The environment variable holding the API key.</summary>
    public const string ApiKeyVariable = "UNBUNDLED_API_KEY";

    public static HttpClient Create(string url, TimeSpan timeout)
    {
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = timeout };
        if (Environment.GetEnvironmentVariable(ApiKeyVariable) is { Length: > 0 } key) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", key);
        return http;
    }
}

using Elastic.Transport.Products.Elasticsearch;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch.Cluster;

/// <summary>
/// Turns a failed response into what the engine acts on. The client reports failures in the response
/// rather than throwing, so every call goes through here: no answer, 429 and 5xx are transient
/// (<see cref="SinkUnavailableException"/>, the batch is retried); any other refusal is for good.
/// </summary>
internal static class ResponseCheck
{
    /// <summary>Throws unless <paramref name="response"/> succeeded or has the status <paramref name="tolerated"/>.</summary>
    public static void Ensure(ElasticsearchResponse response, string what, CancellationToken cancellationToken, int? tolerated = null)
    {
        // A cancelled call comes back as a failed response too; shutting down is not an outage.
        cancellationToken.ThrowIfCancellationRequested();
        var details = response.ApiCallDetails;
        if (details.HttpStatusCode is not { } status)
            throw new SinkUnavailableException($"Elasticsearch cannot be reached for {what}: {Chain(details.OriginalException)}", details.OriginalException);
        // A success in another format (a proxy's HTML page) is no answer from Elasticsearch, and nothing could be read from it.
        if (details.HasSuccessfulStatusCode && !details.HasExpectedContentType)
            throw new SinkUnavailableException($"Elasticsearch answered {what} with {status} in {(details.ResponseContentType is { Length: > 0 } type ? type : "no media type")}, not JSON");
        if (details.HasSuccessfulStatusCode || status == tolerated) return;
        var message = $"Elasticsearch refused {what}: {status} {Describe(response.ElasticsearchServerError, status)}";
        if (status is 429 or >= 500) throw new SinkUnavailableException(message);
        throw new ElasticsearchRequestException(status, message);
    }

    /// <summary>The error's type and reason, and its root causes when they say more; the status's name when there is no body (HEAD).</summary>
    private static string Describe(ElasticsearchServerError? error, int status)
    {
        if (error?.Error is not { } cause) return ((System.Net.HttpStatusCode)status).ToString();
        var text = cause.Type is null ? cause.Reason ?? "" : $"{cause.Type}: {cause.Reason}";
        var roots = (cause.RootCause ?? []).Where(root => root.Type != cause.Type || root.Reason != cause.Reason).ToList();
        return roots.Count == 0 ? text : $"{text} (root cause: {string.Join("; ", roots.Select(root => $"{root.Type}: {root.Reason}"))})";
    }

    /// <summary>The transport wraps the socket or TLS error that says what went wrong: keep every distinct message.</summary>
    private static string Chain(Exception? error)
    {
        var messages = new List<string>();
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (!messages.Contains(current.Message)) messages.Add(current.Message);
        }
        return messages.Count == 0 ? "no answer" : string.Join(" ← ", messages);
    }
}

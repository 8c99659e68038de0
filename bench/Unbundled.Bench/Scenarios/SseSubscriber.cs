using System.Net.Http.Headers;

namespace Unbundled.Bench.Scenarios;

/// <summary>The feed scenarios' subscriber: a bare SSE reader that notes each change's position as its event arrives.</summary>
internal static class SseSubscriber
{
    /// <summary>
    /// Follows <paramref name="channel"/> over SSE from now on, calling <paramref name="onChange"/> with the
    /// position of each change as soon as its id line arrives; completes <paramref name="ready"/> when live.
    /// </summary>
    public static async Task FollowAsync(HttpClient http, string channel, Action<long> onChange, TaskCompletionSource ready, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/feeds/lists?channel={channel}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
        long? id = null;
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal)) id = long.Parse(line.AsSpan(4));
                else if (line == "event: change" && id is { } position) onChange(position);
                else if (line == "event: ready") ready.TrySetResult();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The scenario is over.
        }
    }
}

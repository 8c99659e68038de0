using System.Globalization;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;

namespace Unbundled.Bench.Scenarios;

/// <summary>The feed scenarios' subscriber: reads the stream with the platform's SSE parser and notes each change's position as its event arrives.</summary>
internal static class SseSubscriber
{
    /// <summary>
    /// Follows <paramref name="channel"/> over SSE from now on, calling <paramref name="onChange"/> with the
    /// position of each change as soon as its event arrives; completes <paramref name="ready"/> when live.
    /// </summary>
    public static async Task FollowAsync(HttpClient http, string channel, Action<long> onChange, TaskCompletionSource ready, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/feeds/lists?channel={channel}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        try
        {
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
            {
                if (item.EventType == "change" && item.EventId is { } id) onChange(long.Parse(id, CultureInfo.InvariantCulture));
                else if (item.EventType == "ready") ready.TrySetResult();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The scenario is over.
        }
    }
}

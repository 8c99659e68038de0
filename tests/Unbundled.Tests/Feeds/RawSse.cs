using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Feeds;

/// <summary>One SSE event as it came over the wire: its id, event name and data.</summary>
public sealed record SseEvent(string? Id, string? Event, JsonObject? Data);

/// <summary>
/// A bare SSE connection read with the platform's parser (System.Net.ServerSentEvents), for tests that
/// check the protocol itself rather than our client library.
/// </summary>
public sealed class RawSse : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly IAsyncEnumerator<SseItem<string>> _events;
    private Task<bool>? _pending;

    private RawSse(HttpResponseMessage response, Stream stream)
    {
        _response = response;
        _events = SseParser.Create(stream).EnumerateAsync().GetAsyncEnumerator();
    }

    /// <summary>The response (status and headers).</summary>
    public HttpResponseMessage Response => _response;

    /// <summary>Opens <paramref name="url"/> as an event stream, sending <paramref name="lastEventId"/> when given.</summary>
    public static async Task<RawSse> OpenAsync(HttpClient http, string url, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new RawSse(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next event; null when the server closed the stream. Throws <see cref="TimeoutException"/> when none came in time.</summary>
    public async Task<SseEvent?> NextAsync(TimeSpan? timeout = null)
    {
        // A read that timed out goes on in the background; the next call takes its result rather than reading twice at once.
        _pending ??= _events.MoveNextAsync().AsTask();
        var more = await _pending.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
        _pending = null;
        if (!more) return null;
        var item = _events.Current;
        return new SseEvent(item.EventId, item.EventType, item.Data.Length > 0 ? JsonNode.Parse(item.Data)!.AsObject() : null);
    }

    /// <summary>Events up to and including the first named <paramref name="name"/>.</summary>
    public async Task<List<SseEvent>> ReadUntilAsync(string name)
    {
        var events = new List<SseEvent>();
        while (await NextAsync() is { } next)
        {
            events.Add(next);
            if (next.Event == name) return events;
        }
        throw new InvalidOperationException($"the stream ended before a '{name}' event; got {string.Join(", ", events.Select(e => e.Event))}");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _response.Dispose();
        if (_pending is not null) await ((Task)_pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _events.DisposeAsync();
    }
}

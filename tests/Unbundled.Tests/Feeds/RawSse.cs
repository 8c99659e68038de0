using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Feeds;

/// <summary>One SSE event as it came over the wire: its id line, event name, data, or a comment.</summary>
public sealed record SseEvent(string? Id, string? Event, JsonObject? Data, string? Comment);

/// <summary>A bare SSE connection read line by line, for tests that check the protocol itself rather than a client library.</summary>
public sealed class RawSse : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private RawSse(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
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
        return new RawSse(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    /// <summary>The next event or comment; null when the server closed the stream.</summary>
    public async Task<SseEvent?> NextAsync(TimeSpan? timeout = null)
    {
        using var waiting = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        string? id = null, name = null, data = null;
        while (await _reader.ReadLineAsync(waiting.Token) is { } line)
        {
            if (line.StartsWith(':')) return new SseEvent(null, null, null, line[1..].Trim());
            if (line.Length == 0)
            {
                if (data is null) continue;
                return new SseEvent(id, name, JsonNode.Parse(data)!.AsObject(), null);
            }
            var (field, value) = line.IndexOf(':') is var colon and > 0 ? (line[..colon], line[(colon + 1)..].TrimStart()) : (line, "");
            switch (field)
            {
                case "id": id = value; break;
                case "event": name = value; break;
                case "data": data = value; break;
            }
        }
        return null;
    }

    /// <summary>Events up to and including the first named <paramref name="name"/>, skipping comments.</summary>
    public async Task<List<SseEvent>> ReadUntilAsync(string name)
    {
        var events = new List<SseEvent>();
        while (await NextAsync() is { } next)
        {
            if (next.Comment is not null) continue;
            events.Add(next);
            if (next.Event == name) return events;
        }
        throw new InvalidOperationException($"the stream ended before a '{name}' event; got {string.Join(", ", events.Select(e => e.Event))}");
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}

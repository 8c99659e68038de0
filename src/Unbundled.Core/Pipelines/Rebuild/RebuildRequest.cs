using System.Collections.Concurrent;
using Unbundled.Log;

namespace Unbundled.Pipelines.Rebuild;

/// <summary>The rebuild requests of the running pipelines, by pipeline name.</summary>
public sealed class RebuildRequests
{
    private readonly ConcurrentDictionary<string, RebuildRequest> _requests = new(StringComparer.Ordinal);

    /// <summary>The requests of <paramref name="pipeline"/>; null when no such pipeline runs.</summary>
    public RebuildRequest? Find(string pipeline) => _requests.GetValueOrDefault(pipeline);

    internal RebuildRequest Register(string pipeline) => _requests.GetOrAdd(pipeline, _ => new RebuildRequest());
}

/// <summary>
/// The control channel between an operator asking for a rebuild and the worker that runs it: at most
/// one rebuild is requested or running at a time.
/// </summary>
public sealed class RebuildRequest
{
    // 0: none; 1: requested, not yet taken by the worker; 2: running. A request is accepted only from 0,
    // so a second one is refused from the moment the first is accepted.
    private int _state;
    private readonly AppendSignal _signal = new();

    /// <summary>Asks the worker to rebuild the view as a new generation; false when a rebuild is requested or running already.</summary>
    public bool TryRequest()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) return false;
        _signal.Notify();
        return true;
    }

    /// <summary>Completes when a request waits for the worker.</summary>
    internal Task Requested => Volatile.Read(ref _state) == 1 ? Task.CompletedTask : _signal.Next;

    /// <summary>Takes a waiting request; true when there was one.</summary>
    internal bool Take() => Interlocked.CompareExchange(ref _state, 2, 1) == 1;

    /// <summary>A rebuild runs (also one resumed after a restart, which nobody requested in this process).</summary>
    internal void Running() => Volatile.Write(ref _state, 2);

    /// <summary>The rebuild is over; the next request is accepted.</summary>
    internal void Ended() => Volatile.Write(ref _state, 0);
}

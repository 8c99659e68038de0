namespace Unbundled.Log;

/// <summary>
/// Wakes everyone waiting for new log entries. Waiters take <see cref="Next"/> before they look at the
/// log, so an append that lands between their look and their wait still wakes them.
/// </summary>
public sealed class AppendSignal
{
    private TaskCompletionSource _next = NewSource();

    /// <summary>A task that completes at the next <see cref="Notify"/>.</summary>
    public Task Next => Volatile.Read(ref _next).Task;

    /// <summary>Wakes the current waiters.</summary>
    public void Notify() => Interlocked.Exchange(ref _next, NewSource()).TrySetResult();

    private static TaskCompletionSource NewSource() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

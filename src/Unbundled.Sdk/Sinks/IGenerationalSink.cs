namespace Unbundled.Sdk.Sinks;

/// <summary>
/// A sink whose view can be rebuilt beside itself: each generation (<see cref="SinkContext.Generation"/>)
/// is stored apart, the rebuilt one is made the one readers see in one step, and the old one is dropped.
/// </summary>
public interface IGenerationalSink : ISinkConnector
{
    /// <summary>Makes this generation the one outside readers see (an alias swap, a pointer key), atomically.</summary>
    Task ActivateAsync(CancellationToken cancellationToken);

    /// <summary>Deletes everything this generation stored.</summary>
    Task DropAsync(CancellationToken cancellationToken);
}

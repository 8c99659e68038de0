namespace Unbundled.Sdk.Sinks;

/// <summary>
/// A sink that keeps no derived documents, only passes changes on (a push feed): a changed
/// definition applies to the next change at once, so its view is never stale and has nothing to rebuild.
/// </summary>
public interface IPassThroughSink : ISinkConnector;

namespace Unbundled.Sdk;

/// <summary>
/// A connector refuses what it was configured to do, and no retry can mend it (a table without a key, a
/// table that does not exist): the engine stops the pipeline with this message instead of retrying, so the
/// operator reads the refusal in status and logs at start rather than a warning repeated forever.
/// </summary>
public sealed class ConnectorRefusedException(string message) : Exception(message);

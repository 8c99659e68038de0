using Unbundled.Model;

namespace Unbundled.Log;

/// <summary>A model had moved past the expected version when an append reached the log; nothing was written.</summary>
public sealed class ConcurrencyConflictException(ModelKey model, long expectedVersion)
    : Exception($"{model} is no longer at version {expectedVersion}")
{
    /// <summary>The model whose version had moved.</summary>
    public ModelKey Model { get; } = model;

    /// <summary>The version the append expected.</summary>
    public long ExpectedVersion { get; } = expectedVersion;
}

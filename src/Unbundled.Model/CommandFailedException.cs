namespace Unbundled.Model;

/// <summary>A command cannot be applied to the document as it is, or an interceptor refused it.</summary>
public sealed class CommandFailedException(string reason, bool itemMissing = false) : Exception(reason)
{
    /// <summary>Why, in words meant for the client.</summary>
    public string Reason { get; } = reason;

    /// <summary>
    /// True when an item addressed by key (<see cref="ItemKey"/>) is not there: typically deleted by
    /// another client before this command was rebased on top of that delete.
    /// </summary>
    public bool ItemMissing { get; } = itemMissing;
}

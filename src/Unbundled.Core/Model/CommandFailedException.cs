namespace Unbundled.Model;

/// <summary>A command cannot be applied to the document as it is, or an interceptor refused it.</summary>
public sealed class CommandFailedException(string reason) : Exception(reason)
{
    /// <summary>Why, in words meant for the client.</summary>
    public string Reason { get; } = reason;
}

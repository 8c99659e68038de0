using System.Text.Json.Nodes;
using Unbundled.Log;
using Unbundled.Model;

namespace Unbundled.Master;

/// <summary>A client's flush: the commands it applied locally on top of <see cref="BaseVersion"/>.</summary>
/// <param name="Model">The model flushed to.</param>
/// <param name="BaseVersion">The master version the client's local state was at.</param>
/// <param name="Commands">The client's commands, in the order it applied them (may be empty: a pure catch-up).</param>
/// <param name="Caller">The authenticated caller, attached to each command.</param>
/// <param name="Tenant">The caller's tenant: only that tenant's models are reachable, and new ones are stamped with it; null for a caller of no tenant.</param>
/// <param name="IdempotencyKey">Names the flush: a retry with the same key gets the first answer and applies nothing again.</param>
public sealed record FlushRequest(ModelKey Model, long BaseVersion, IReadOnlyList<Command> Commands, string Caller = "anonymous", string? Tenant = null,
    string? IdempotencyKey = null);

/// <summary>
/// The master's answer: the model's new version, the log position of the flush's last command, and
/// what the client lacks to reach that version: either <see cref="Commands"/> (every command after the
/// client's base version, its own included as the master applied them) or a <see cref="Snapshot"/>.
/// </summary>
public sealed record FlushResult(
    ModelKey Model,
    long Version,
    long Position,
    IReadOnlyList<LogEntry>? Commands,
    ModelSnapshot? Snapshot);

/// <summary>Why a flush was refused; nothing of it was applied.</summary>
public enum FlushError
{
    /// <summary>The model type is not registered.</summary>
    UnknownModelType,

    /// <summary>A command's path is not a JSON Pointer.</summary>
    InvalidPath,

    /// <summary>A command failed against the model or an interceptor refused it.</summary>
    CommandRejected,

    /// <summary>
    /// A command addresses an array item by key and no item has that key any more: another client
    /// deleted it before this flush was rebased on top. Clients drop the command and tell the user.
    /// </summary>
    ItemMissing,

    /// <summary>The client claims a version the master has not reached.</summary>
    VersionAhead,

    /// <summary>The flush is larger than the configured limit.</summary>
    TooLarge,

    /// <summary>The request itself is malformed (negative version, missing commands).</summary>
    Malformed,

    /// <summary>The model belongs to another tenant, which is answered as if it did not exist.</summary>
    NotFound,
}

/// <summary>A refused flush, with the command at fault when there is one.</summary>
public sealed class FlushRejectedException(FlushError error, string detail, int? commandIndex = null, string? command = null)
    : Exception(detail)
{
    /// <summary>The command at fault as the client sent it (<c>op path</c>), if one is.</summary>
    public string? Command { get; } = command;

    /// <summary>The kind of refusal.</summary>
    public FlushError Error { get; } = error;

    /// <summary>Zero-based index of the command at fault, if one is.</summary>
    public int? CommandIndex { get; } = commandIndex;
}

using System.Text.Json.Nodes;

namespace Unbundled.Model;

/// <summary>
/// Runs on the master for every command of a flush, in registration order, before the command is
/// applied: it may return the command changed (computed values, metadata) or refuse it by throwing
/// <see cref="CommandFailedException"/>, which rejects the whole flush.
/// </summary>
public interface ICommandInterceptor
{
    /// <summary>Inspects one command against the model's state just before it.</summary>
    ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken);
}

/// <summary>What an interceptor knows about the command it sees.</summary>
/// <param name="Model">The model being flushed to.</param>
/// <param name="Document">The model's document just before this command (read it; do not change it).</param>
/// <param name="Version">The model's version just before this command.</param>
/// <param name="Path">The command's parsed path.</param>
/// <param name="Caller">Who flushed, as the server authenticated them ("anonymous" when nobody).</param>
/// <param name="Now">The master's clock at this flush.</param>
public sealed record CommandContext(
    ModelKey Model,
    JsonNode? Document,
    long Version,
    DocumentPath Path,
    string Caller,
    DateTimeOffset Now);

namespace Unbundled.Model.Interceptors;

/// <summary>
/// Attaches the caller's identity to every command as metadata <c>by</c>, as Flushout's backend
/// attaches the session user: the log then says who did what, whatever the client claimed.
/// </summary>
public sealed class CallerIdentityInterceptor : ICommandInterceptor
{
    /// <summary>The metadata name the identity is stored under.</summary>
    public const string MetaName = "by";

    /// <inheritdoc />
    public ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken) =>
        ValueTask.FromResult(command.WithMeta(MetaName, context.Caller));
}

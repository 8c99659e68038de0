using Unbundled.Model;

namespace Unbundled.TodoApp.Model;

/// <summary>
/// A person's profile (a <c>user</c> model, keyed by the name the server knows them by) is written by that person
/// only: it is embedded in every todo they wrote and searched by, so another's rename would reach all of them.
/// A server that knows nobody ("anonymous" callers) has no person to hold to it.
/// </summary>
public sealed class OwnProfileInterceptor : ICommandInterceptor
{
    /// <summary>The caller a server without identities flushes as.</summary>
    private const string Anonymous = "anonymous";

    /// <inheritdoc />
    public ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken) =>
        context.Caller == Anonymous || context.Caller == context.Model.Id
            ? ValueTask.FromResult(command)
            : throw new CommandFailedException($"'{context.Caller}' may not change the profile of '{context.Model.Id}': a profile is its owner's to write");
}

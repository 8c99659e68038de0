using System.Globalization;
using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.TodoApp.Model;

/// <summary>
/// Computes the values only the server may set on a new todo: its id (when the client gave none), its
/// creation time from the master's clock and who created it, so clients with skewed clocks still sort correctly.
/// </summary>
public sealed class TodoStampInterceptor : ICommandInterceptor
{
    /// <inheritdoc />
    public ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken)
    {
        if (command.Op != CommandOp.Create || !TodoList.IsTodoPath(context.Path.Segments) || command.Value is not JsonObject todo)
            return ValueTask.FromResult(command);

        var stamped = (JsonObject)todo.DeepClone();
        if (stamped["id"] is null) stamped["id"] = Guid.CreateVersion7(context.Now).ToString("N");
        stamped["createdAt"] = context.Now.ToString("O", CultureInfo.InvariantCulture);
        stamped["createdBy"] = context.Caller;
        return ValueTask.FromResult(command with { Value = stamped });
    }
}

using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.TodoApp.Model;

/// <summary>Refuses a new todo when the list already holds the most it may: a check against the current state.</summary>
public sealed class MaxTodosInterceptor(int maxTodos) : ICommandInterceptor
{
    /// <inheritdoc />
    public ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken)
    {
        if (command.Op == CommandOp.Create
            && TodoList.IsTodoPath(context.Path.Segments)
            && context.Document?[TodoList.Todos] is JsonArray todos
            && todos.Count >= maxTodos)
        {
            throw new CommandFailedException($"a list holds at most {maxTodos} todos");
        }
        return ValueTask.FromResult(command);
    }
}

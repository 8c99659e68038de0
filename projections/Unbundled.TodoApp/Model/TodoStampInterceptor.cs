using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Unbundled.Model;

namespace Unbundled.TodoApp.Model;

/// <summary>
/// Keeps every todo's identity sound and computes what only the server may set on a new todo: the id
/// when the client gave none (a client working offline gives its own, which must be well-formed and
/// unused in the list), the creation time from the master's clock and who created it, so clients with
/// skewed clocks still sort correctly. Edits address todos by id (<c>/todos/[id=…]</c>), so an id
/// never changes once given and todos move only within the list.
/// </summary>
public sealed partial class TodoStampInterceptor : ICommandInterceptor
{
    /// <inheritdoc />
    public ValueTask<Command> InterceptAsync(CommandContext context, Command command, CancellationToken cancellationToken)
    {
        var segments = context.Path.Segments;
        if (TodoList.IsTodoIdPath(segments))
            throw new CommandFailedException("a todo's id cannot change: it is how edits find the todo");
        if (command.Op == CommandOp.Move)
        {
            var from = DocumentPath.Parse(command.From!).Segments;
            if (TodoList.IsTodoPath(from) != TodoList.IsTodoPath(segments))
                throw new CommandFailedException("todos move only within the list's todos");
            return ValueTask.FromResult(command);
        }
        if (!TodoList.IsTodoPath(segments) || command.Value is not JsonObject todo) return ValueTask.FromResult(command);

        return command.Op switch
        {
            CommandOp.Create => ValueTask.FromResult(command with { Value = Stamp(context, todo) }),
            CommandOp.Update => ValueTask.FromResult(command with { Value = KeepId(context, todo) }),
            _ => ValueTask.FromResult(command),
        };
    }

    private static JsonObject Stamp(CommandContext context, JsonObject todo)
    {
        var stamped = (JsonObject)todo.DeepClone();
        if (stamped["id"] is null)
        {
            stamped["id"] = Guid.CreateVersion7(context.Now).ToString("N");
        }
        else
        {
            var id = stamped["id"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
            if (id is null || !WellFormedId().IsMatch(id))
                throw new CommandFailedException("a todo's id is 1 to 64 letters, digits, '-' or '_' (or leave it out and the server sets one)");
            if (ModelDocument.Find(context.Document, DocumentPath.Parse($"/{TodoList.Todos}/{new ItemKey("id", id).ToSegment()}")) is not null)
                throw new CommandFailedException($"the list already has a todo with id '{id}'");
        }
        stamped["createdAt"] = context.Now.ToString("O", CultureInfo.InvariantCulture);
        stamped["createdBy"] = context.Caller;
        return stamped;
    }

    // Replacing a whole todo keeps its id (and its creation stamp), whatever the new value says.
    private static JsonObject KeepId(CommandContext context, JsonObject todo)
    {
        if (ModelDocument.Find(context.Document, context.Path) is not JsonObject current) return todo;
        var kept = (JsonObject)todo.DeepClone();
        foreach (var member in new[] { "id", "createdAt", "createdBy" })
        {
            if (current[member] is { } value) kept[member] = value.DeepClone();
        }
        return kept;
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex WellFormedId();
}

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
        if (segments.Count == 3 && segments[0] == TodoList.Todos && segments[2] is "createdAt" or "createdBy")
            throw new CommandFailedException($"'{segments[2]}' is set by the server");
        // A whole list, or its whole todos array, carries todos too: the server stamps them as it stamps one.
        if (command.Op is CommandOp.Create or CommandOp.Update && command.Value is not null)
        {
            if (segments.Count == 0 && command.Value is JsonObject list && list[TodoList.Todos] is JsonArray listed)
            {
                var stamped = (JsonObject)list.DeepClone();
                stamped[TodoList.Todos] = StampAll(context, listed, context.Document?[TodoList.Todos] as JsonArray);
                return ValueTask.FromResult(command with { Value = stamped });
            }
            if (segments is [TodoList.Todos] && command.Value is JsonArray all)
                return ValueTask.FromResult(command with { Value = StampAll(context, all, context.Document?[TodoList.Todos] as JsonArray) });
        }
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

    /// <summary>Todos already in the list keep their stamps; new ones get the server's, and ids must be unique.</summary>
    private static JsonArray StampAll(CommandContext context, JsonArray todos, JsonArray? current)
    {
        var known = (current ?? []).OfType<JsonObject>().Where(t => t["id"] is JsonValue).ToDictionary(t => t["id"]!.ToString());
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stamped = new JsonArray();
        foreach (var item in todos)
        {
            if (item is not JsonObject todo)
            {
                stamped.Add(item?.DeepClone());
                continue;
            }
            JsonObject next;
            if (todo["id"] is JsonValue id && known.TryGetValue(id.ToString(), out var existing))
            {
                next = (JsonObject)todo.DeepClone();
                next["createdAt"] = existing["createdAt"]?.DeepClone();
                next["createdBy"] = existing["createdBy"]?.DeepClone();
            }
            else
            {
                next = Stamp(context with { Document = null }, todo);
            }
            if (!seen.Add(next["id"]!.ToString())) throw new CommandFailedException($"the list has two todos with id '{next["id"]}'");
            stamped.Add(next);
        }
        return stamped;
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

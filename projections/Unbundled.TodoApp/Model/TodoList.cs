namespace Unbundled.TodoApp.Model;

/// <summary>
/// The demo model, a collaborative todo list: <c>{ "title": "…", "todos": [ { "id", "title", "done",
/// "createdAt", "createdBy" } ] }</c>. Clients add todos by creating at <c>/todos/-</c> and address
/// them by id afterwards (<c>/todos/[id=…]/done</c>), never by index: another client's delete or
/// move can shift indexes before a flush is rebased.
/// </summary>
public static class TodoList
{
    /// <summary>The model type name clients flush to.</summary>
    public const string TypeName = "todo-list";

    /// <summary>The member holding the todos.</summary>
    public const string Todos = "todos";

    /// <summary>True when <paramref name="segments"/> address one todo (<c>/todos/[id=…]</c>, <c>/todos/N</c> or <c>/todos/-</c>).</summary>
    public static bool IsTodoPath(IReadOnlyList<string> segments) => segments.Count == 2 && segments[0] == Todos;

    /// <summary>True when <paramref name="segments"/> address a todo's id member.</summary>
    public static bool IsTodoIdPath(IReadOnlyList<string> segments) => segments.Count == 3 && segments[0] == Todos && segments[2] == "id";
}

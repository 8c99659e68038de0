namespace Unbundled.TodoApp.Model;

/// <summary>
/// The demo model, a collaborative todo list: <c>{ "title": "…", "todos": [ { "id", "title", "done",
/// "createdAt", "createdBy" } ] }</c>. Clients add todos by creating at <c>/todos/-</c>.
/// </summary>
public static class TodoList
{
    /// <summary>The model type name clients flush to.</summary>
    public const string TypeName = "todo-list";

    /// <summary>The member holding the todos.</summary>
    public const string Todos = "todos";

    /// <summary>True when <paramref name="segments"/> address one todo (<c>/todos/N</c> or <c>/todos/-</c>).</summary>
    public static bool IsTodoPath(IReadOnlyList<string> segments) => segments.Count == 2 && segments[0] == Todos;
}

using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.TodoApp.Projections;

/// <summary>
/// Fans a todo list out into one document per todo, keyed <c>{listId}:{todoId}</c>, carrying the
/// list's title; todos that the change removed (or the whole list, when it was deleted) are deleted.
/// </summary>
public sealed class TodoItemsProjection : IProjection
{
    /// <summary>The name pipelines.yaml uses.</summary>
    public const string ProjectionName = "todo-items";

    /// <inheritdoc />
    public string Name => ProjectionName;

    /// <inheritdoc />
    /// <remarks>A todo's document holds the todo and the list's key, title and tenant, nothing of the other todos.</remarks>
    public string? ItemsField => "todos";

    /// <inheritdoc />
    public IEnumerable<SinkDocument> Project(ChangeEvent change)
    {
        var listId = change.Key;
        var version = change.Source.Version;
        var position = change.Source.Position;
        var before = Todos(change.Before, listId);
        var after = Todos(change.After, listId);

        foreach (var (id, document) in after)
            yield return SinkDocument.Upsert($"{listId}:{id}", version, position, document);
        foreach (var (id, document) in before)
        {
            if (!after.ContainsKey(id))
                yield return SinkDocument.Delete($"{listId}:{id}", version, position, document);
        }
    }

    private static Dictionary<string, JsonObject> Todos(JsonNode? list, string listId)
    {
        var todos = new Dictionary<string, JsonObject>();
        if (list?["todos"] is not JsonArray items) return todos;
        var title = list["title"]?.DeepClone();
        var tenant = Unbundled.Master.ModelTenancy.Of(list);
        foreach (var item in items)
        {
            if (item is not JsonObject todo || todo["id"] is not JsonValue idValue || !idValue.TryGetValue<string>(out var id) || id.Length == 0) continue;
            todos[id] = new JsonObject
            {
                ["id"] = id,
                ["listId"] = listId,
                ["listTitle"] = title?.DeepClone(),
                ["title"] = todo["title"]?.DeepClone(),
                ["done"] = todo["done"]?.DeepClone() ?? false,
                ["createdAt"] = todo["createdAt"]?.DeepClone(),
                ["createdBy"] = todo["createdBy"]?.DeepClone(),
            };
            // The list's tenant travels with each todo, so views can declare it as their owner field.
            if (tenant is not null) todos[id]["tenant"] = tenant;
        }
        return todos;
    }
}

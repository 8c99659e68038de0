using System.Text.Json.Nodes;
using Npgsql;

namespace Unbundled.Tests.Integration.Oracle;

/// <summary>
/// The expected <c>todo-items</c> view, computed without any production code: the raw rows of the
/// PostgreSQL log read with plain SQL, folded by the few lines below that understand exactly the
/// commands the crash tests send, and projected by hand. A bug in the event reader, in command
/// application or in the projection cannot show on both sides of the comparison (issue #16).
/// </summary>
public static class TodoItemsOracle
{
    /// <summary>Every model's (a list's, unless <paramref name="type"/> says otherwise) final state and version, folded from the log rows in position order.</summary>
    public static async Task<Dictionary<string, (long Version, JsonObject? State)>> FoldAsync(string connectionString, string schema, string type = "todo-list")
    {
        var lists = new Dictionary<string, (long Version, JsonObject? State)>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand($"SELECT model_id, version, command::text FROM {schema}.command_log WHERE model_type = @type ORDER BY position", connection)
        {
            Parameters = { new("type", type) },
        };
        await using var rows = await query.ExecuteReaderAsync();
        while (await rows.ReadAsync())
        {
            var id = rows.GetString(0);
            var version = rows.GetInt64(1);
            var command = JsonNode.Parse(rows.GetString(2))!.AsObject();
            var state = lists.TryGetValue(id, out var held) ? held.State : null;
            if (version != held.Version + 1) throw new InvalidOperationException($"the log skips from version {held.Version} to {version} of {id}");
            lists[id] = (version, Apply(state, command));
        }
        return lists;
    }

    /// <summary>The todo-items documents by key (<c>{list}:{todo}</c>) of the folded lists.</summary>
    public static Dictionary<string, JsonObject> Project(Dictionary<string, (long Version, JsonObject? State)> lists)
    {
        var view = new Dictionary<string, JsonObject>();
        foreach (var (listId, (_, state)) in lists)
        {
            if (state?["todos"] is not JsonArray todos) continue;
            foreach (var todo in todos.Cast<JsonObject>())
            {
                var id = (string)todo["id"]!;
                view[$"{listId}:{id}"] = new JsonObject
                {
                    ["id"] = id,
                    ["listId"] = listId,
                    ["listTitle"] = state["title"]?.DeepClone(),
                    ["title"] = todo["title"]?.DeepClone(),
                    ["done"] = todo["done"]?.DeepClone() ?? false,
                    ["createdAt"] = todo["createdAt"]?.DeepClone(),
                    ["createdBy"] = todo["createdBy"]?.DeepClone(),
                };
            }
        }
        return view;
    }

    // Only the shapes the crash tests flush; anything else is a test bug and says so.
    private static JsonObject? Apply(JsonObject? state, JsonObject command)
    {
        var op = (string)command["op"]!;
        var path = (string)command["path"]!;
        var value = command["value"]?.DeepClone();
        var todos = state?["todos"] as JsonArray;
        switch (op, path)
        {
            case ("create", ""): return (JsonObject)value!;
            case ("delete", ""): return null;
            case ("update", "/title"): state!["title"] = value; return state;
            case ("update", "/name"): state!["name"] = value; return state;
            case ("create", "/todos/-"): todos!.Add(value); return state;
            case ("update", "/todos/0/done"): todos![0]!["done"] = value; return state;
            case ("delete", "/todos/0"): todos!.RemoveAt(0); return state;
            default: throw new InvalidOperationException($"the oracle does not know {op} {path}");
        }
    }
}

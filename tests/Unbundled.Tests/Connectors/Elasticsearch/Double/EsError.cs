using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>An Elasticsearch error: the status, the <c>type</c> and the <c>reason</c> its JSON body carries.</summary>
internal sealed class EsError(int status, string type, string reason, (string Type, string Reason)? rootCause = null) : Exception(reason)
{
    public int Status { get; } = status;

    public string Type { get; } = type;

    /// <summary>The whole-request error body: <c>{"error":{"root_cause":[…],"type","reason"},"status"}</c>.</summary>
    public JsonObject Body()
    {
        var cause = rootCause ?? (Type, Message);
        return new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["root_cause"] = new JsonArray(new JsonObject { ["type"] = cause.Type, ["reason"] = cause.Reason }),
                ["type"] = Type,
                ["reason"] = Message,
            },
            ["status"] = Status,
        };
    }

    /// <summary>The error as one bulk item carries it.</summary>
    public JsonObject Item(string index, string id) => new()
    {
        ["_index"] = index, ["_id"] = id, ["status"] = Status,
        ["error"] = new JsonObject { ["type"] = Type, ["reason"] = Message, ["index"] = index },
    };

    public static EsError IndexNotFound(string index) => new(404, "index_not_found_exception", $"no such index [{index}]");

    public static EsError BadRequest(string reason) => new(400, "illegal_argument_exception", reason);
}

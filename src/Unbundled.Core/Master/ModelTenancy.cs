using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Master;

/// <summary>
/// Which tenant a model belongs to: the server writes the creating caller's tenant into the document's
/// reserved member <c>_tenant</c>, and no client command may set or change it. A caller of a tenant
/// reaches only that tenant's models; one of no tenant (an administrator, or a single-tenant
/// deployment) reaches every model. Another tenant's model is answered as if it did not exist.
/// </summary>
public static class ModelTenancy
{
    /// <summary>The reserved member of a model document that names its tenant.</summary>
    public const string Member = "_tenant";

    /// <summary>The tenant a model document belongs to, if any.</summary>
    public static string? Of(JsonNode? document) =>
        document is JsonObject root && root[Member] is JsonValue value && value.TryGetValue<string>(out var tenant) ? tenant : null;

    /// <summary>Throws <see cref="FlushRejectedException"/> (not found) unless the caller's tenant may reach the model.</summary>
    public static void Authorize(ModelKey model, JsonNode? document, string? tenant)
    {
        if (tenant is null || document is null || Of(document) == tenant) return;
        throw new FlushRejectedException(FlushError.NotFound, $"there is no model {model}");
    }

    /// <summary>
    /// The command with the tenant stamped into a created or replaced document; refuses any command
    /// that sets or removes <c>_tenant</c> itself.
    /// </summary>
    public static Command Stamp(Command command, DocumentPath path, JsonNode? before, string? tenant)
    {
        // A move takes its value away from where it was: out of the tenant member, it would leave the model without one.
        if (command.Op == CommandOp.Move && DocumentPath.TryParse(command.From, out var source, out _) && !source.IsRoot && source.Segments[0] == Member)
            throw new CommandFailedException($"'{Member}' is set by the server and cannot be moved");
        if (!path.IsRoot)
        {
            if (path.Segments[0] == Member) throw new CommandFailedException($"'{Member}' is set by the server and cannot be changed");
            return command;
        }
        if (command.Value is not JsonObject value) return command;
        if (value.ContainsKey(Member)) throw new CommandFailedException($"'{Member}' is set by the server and cannot be supplied");
        var owner = before is null ? tenant : Of(before);
        if (owner is null) return command;
        var stamped = (JsonObject)value.DeepClone();
        stamped[Member] = owner;
        return command with { Value = stamped };
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace Unbundled.Model;

/// <summary>Applies commands to a model's JSON document, the one place that defines their meaning.</summary>
public static class ModelDocument
{
    /// <summary>
    /// Applies <paramref name="command"/> to <paramref name="document"/> (changed in place) and returns
    /// the resulting root, which is new when the command creates or deletes the whole document.
    /// </summary>
    /// <exception cref="CommandFailedException">The path does not fit the document.</exception>
    public static JsonNode? Apply(JsonNode? document, Command command, DocumentPath path)
    {
        if (path.IsRoot) return ApplyAtRoot(document, command);
        if (document is null) throw new CommandFailedException("the model does not exist yet: create it at the root path \"\" first");

        var parent = Navigate(document, path);
        var last = path.Segments[^1];
        switch (parent)
        {
            case JsonObject obj:
                ApplyToMember(obj, last, command, path);
                break;
            case JsonArray array:
                ApplyToItem(array, last, command, path);
                break;
            default:
                throw new CommandFailedException($"'{path}' goes inside a {Describe(parent)}, which has no members");
        }
        return document;
    }

    private static JsonNode? ApplyAtRoot(JsonNode? document, Command command)
    {
        switch (command.Op)
        {
            case CommandOp.Create when document is not null:
                throw new CommandFailedException("the model exists already; update it instead");
            case CommandOp.Create or CommandOp.Update:
                if (command.Value is null) throw new CommandFailedException($"{Name(command.Op)} needs a value");
                if (command.Op == CommandOp.Update && document is null) throw new CommandFailedException("the model does not exist; create it first");
                return command.Value.DeepClone();
            default:
                if (document is null) throw new CommandFailedException("the model does not exist");
                return null;
        }
    }

    private static JsonNode Navigate(JsonNode document, DocumentPath path)
    {
        var node = document;
        for (var i = 0; i < path.Segments.Count - 1; i++)
        {
            var segment = path.Segments[i];
            JsonNode? next = node switch
            {
                JsonObject obj => obj.TryGetPropertyValue(segment, out var child) ? child : null,
                JsonArray array => TryIndex(segment, out var index) && index < array.Count ? array[index] : null,
                _ => null,
            };
            node = next ?? throw new CommandFailedException($"'{path}' does not exist: nothing at '{Prefix(path, i + 1)}'");
        }
        return node;
    }

    private static void ApplyToMember(JsonObject obj, string name, Command command, DocumentPath path)
    {
        var exists = obj.ContainsKey(name);
        switch (command.Op)
        {
            case CommandOp.Create:
                if (exists) throw new CommandFailedException($"'{path}' exists already; update it instead");
                obj[name] = RequireValue(command);
                break;
            case CommandOp.Update:
                if (!exists) throw new CommandFailedException($"'{path}' does not exist; create it first");
                obj[name] = RequireValue(command);
                break;
            default:
                if (!obj.Remove(name)) throw new CommandFailedException($"'{path}' does not exist");
                break;
        }
    }

    private static void ApplyToItem(JsonArray array, string token, Command command, DocumentPath path)
    {
        if (token == "-")
        {
            if (command.Op != CommandOp.Create) throw new CommandFailedException($"'{path}': '-' (after the last item) can only be created");
            array.Add(RequireValue(command));
            return;
        }
        if (!TryIndex(token, out var index))
            throw new CommandFailedException($"'{path}': '{token}' is not an array index");

        switch (command.Op)
        {
            case CommandOp.Create:
                if (index > array.Count) throw new CommandFailedException($"'{path}': index {index} is past the end of an array of {array.Count}");
                array.Insert(index, RequireValue(command));
                break;
            case CommandOp.Update:
                if (index >= array.Count) throw new CommandFailedException($"'{path}' does not exist: the array has {array.Count} items");
                array[index] = RequireValue(command);
                break;
            default:
                if (index >= array.Count) throw new CommandFailedException($"'{path}' does not exist: the array has {array.Count} items");
                array.RemoveAt(index);
                break;
        }
    }

    private static JsonNode? RequireValue(Command command) =>
        command.Value?.DeepClone() ?? throw new CommandFailedException($"{Name(command.Op)} needs a value");

    private static bool TryIndex(string token, out int index)
    {
        index = -1;
        if (token.Length == 0 || (token.Length > 1 && token[0] == '0')) return false;
        return int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    private static string Prefix(DocumentPath path, int segments) =>
        "/" + string.Join('/', path.Segments.Take(segments).Select(s => s.Replace("~", "~0").Replace("/", "~1")));

    private static string Describe(JsonNode node) => node.GetValueKind().ToString().ToLowerInvariant();

    private static string Name(CommandOp op) => op.ToString().ToLowerInvariant();
}

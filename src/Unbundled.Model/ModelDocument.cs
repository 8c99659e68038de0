using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Unbundled.Model;

/// <summary>Applies commands to a model's JSON document, the one place that defines their meaning.</summary>
/// <remarks>
/// Array items are reached by index, by <c>-</c> (after the last, create only) or by key
/// (<see cref="ItemKey"/>, <c>[id=abc]</c>), resolved against the document as it is when the command
/// applies. Creating at an index or a key inserts before the item there; <c>move</c> takes the value at
/// <c>from</c> out and creates it at <c>path</c>. A command that fails leaves the document unchanged.
/// The browser client's <c>applyCommand</c> mirrors this file exactly.
/// </remarks>
public static class ModelDocument
{
    /// <summary>
    /// Applies <paramref name="command"/> to <paramref name="document"/> (changed in place) and returns
    /// the resulting root, which is new when the command creates or deletes the whole document.
    /// </summary>
    /// <exception cref="CommandFailedException">The path does not fit the document.</exception>
    public static JsonNode? Apply(JsonNode? document, Command command, DocumentPath path)
    {
        if (command.Op == CommandOp.Move) return Move(document, command, path);
        if (path.IsRoot) return ApplyAtRoot(document, command);
        if (document is null) throw new CommandFailedException("the model does not exist yet: create it at the root path \"\" first");

        var parent = Navigate(document, path);
        var last = path.Segments[^1];
        switch (parent)
        {
            case JsonObject obj:
                ApplyToMember(obj, last, command.Op, command, path);
                break;
            case JsonArray array:
                ApplyToItem(array, last, command.Op, command, path);
                break;
            default:
                throw new CommandFailedException($"'{path}' goes inside a {Describe(parent)}, which has no members");
        }
        return document;
    }

    /// <summary>The value at <paramref name="path"/>, or null when nothing is there (a key matching no item or several).</summary>
    public static JsonNode? Find(JsonNode? document, DocumentPath path)
    {
        var node = document;
        foreach (var segment in path.Segments)
        {
            node = node switch
            {
                JsonObject obj => obj.TryGetPropertyValue(segment, out var child) ? child : null,
                JsonArray array => TryFindItem(array, segment, out var index) ? array[index] : null,
                _ => null,
            };
            if (node is null) return null;
        }
        return node;
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

    // A move is a delete at `from` and a create of the same value at `path`, resolved in that order
    // (so an index or key in `path` is read after the value left). When the create fails the value
    // goes back where it was: a failed command changes nothing.
    private static JsonNode? Move(JsonNode? document, Command command, DocumentPath path)
    {
        if (command.From is null) throw new CommandFailedException("move needs a 'from' path");
        if (!DocumentPath.TryParse(command.From, out var from, out var error)) throw new CommandFailedException(error!);
        if (from.IsRoot || path.IsRoot) throw new CommandFailedException("move cannot take or replace the whole document");
        if (document is null) throw new CommandFailedException("the model does not exist yet: create it at the root path \"\" first");

        var source = Navigate(document, from);
        var name = from.Segments[^1];
        var moved = source switch
        {
            JsonObject obj => obj.TryGetPropertyValue(name, out var value) ? value : throw new CommandFailedException($"'{from}' does not exist"),
            JsonArray array => array[ResolveItem(array, name, from)],
            _ => throw new CommandFailedException($"'{from}' goes inside a {Describe(source)}, which has no members"),
        };
        if (from.Text == path.Text) return document;

        var undo = Detach(source, name, from);
        try
        {
            var target = Navigate(document, path);
            var last = path.Segments[^1];
            var create = command with { Op = CommandOp.Create, Value = moved };
            switch (target)
            {
                case JsonObject obj: ApplyToMember(obj, last, CommandOp.Create, create, path); break;
                case JsonArray array: ApplyToItem(array, last, CommandOp.Create, create, path); break;
                default: throw new CommandFailedException($"'{path}' goes inside a {Describe(target)}, which has no members");
            }
        }
        catch (CommandFailedException)
        {
            undo();
            throw;
        }
        return document;
    }

    private static Action Detach(JsonNode source, string name, DocumentPath from)
    {
        if (source is JsonObject obj)
        {
            var value = obj[name];
            obj.Remove(name);
            return () => obj[name] = value;
        }
        var array = (JsonArray)source;
        var index = ResolveItem(array, name, from);
        var item = array[index];
        array.RemoveAt(index);
        return () => array.Insert(index, item);
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
                JsonArray array when ItemKey.TryParse(segment, out _) => array[ResolveItem(array, segment, path, i)],
                JsonArray array => TryIndex(segment, out var index) && index < array.Count ? array[index] : null,
                _ => null,
            };
            node = next ?? throw new CommandFailedException($"'{path}' does not exist: nothing at '{Prefix(path, i + 1)}'");
        }
        return node;
    }

    private static void ApplyToMember(JsonObject obj, string name, CommandOp op, Command command, DocumentPath path)
    {
        var exists = obj.ContainsKey(name);
        switch (op)
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

    private static void ApplyToItem(JsonArray array, string token, CommandOp op, Command command, DocumentPath path)
    {
        if (token == "-")
        {
            if (op != CommandOp.Create) throw new CommandFailedException($"'{path}': '-' (after the last item) can only be created");
            array.Add(RequireValue(command));
            return;
        }
        if (ItemKey.TryParse(token, out _))
        {
            var at = ResolveItem(array, token, path);
            switch (op)
            {
                case CommandOp.Create: array.Insert(at, RequireValue(command)); break;
                case CommandOp.Update: array[at] = RequireValue(command); break;
                default: array.RemoveAt(at); break;
            }
            return;
        }
        if (!TryIndex(token, out var index))
            throw new CommandFailedException($"'{path}': '{token}' is not an array index or an item key like [id=abc]");

        switch (op)
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

    // The index of the one item a key or index token selects; a key that matches nothing is the
    // "deleted meanwhile" case clients act on, so it is marked apart from other failures.
    private static int ResolveItem(JsonArray array, string token, DocumentPath path, int? segment = null)
    {
        if (!ItemKey.TryParse(token, out var key))
        {
            if (TryIndex(token, out var index) && index < array.Count) return index;
            throw new CommandFailedException($"'{path}' does not exist: nothing at '{Prefix(path, (segment ?? path.Segments.Count - 1) + 1)}'");
        }
        return IndexOfKey(array, key) switch
        {
            Ambiguous => throw new CommandFailedException($"'{path}': more than one item has {key}, so the key does not say which"),
            < 0 => throw new CommandFailedException($"'{path}': no item with {key} in '{Prefix(path, segment ?? path.Segments.Count - 1)}' (deleted meanwhile?)", itemMissing: true),
            var found => found,
        };
    }

    /// <summary>The index of the item <paramref name="token"/> (an index, or a key like <c>[id=abc]</c>) selects in <paramref name="array"/>; false when none or several.</summary>
    public static bool TryFindItem(JsonArray array, string token, out int index)
    {
        if (!ItemKey.TryParse(token, out var key)) return TryIndex(token, out index) && index < array.Count;
        index = IndexOfKey(array, key);
        return index >= 0;
    }

    private const int Ambiguous = -2;

    /// <summary>The index of the one item with <paramref name="key"/>; -1 when none has it, <see cref="Ambiguous"/> when several do.</summary>
    private static int IndexOfKey(JsonArray array, ItemKey key)
    {
        var found = -1;
        for (var i = 0; i < array.Count; i++)
        {
            if (!HasKey(array[i], key)) continue;
            if (found >= 0) return Ambiguous;
            found = i;
        }
        return found;
    }

    /// <summary>True when <paramref name="item"/> is an object whose member <see cref="ItemKey.Member"/> is the string <see cref="ItemKey.Value"/>.</summary>
    /// <remarks>A value parsed from JSON is compared in its UTF-8 form: reading it as a string would allocate one per item,
    /// and a key lookup in a list of a thousand todos did a thousand allocations per command.</remarks>
    public static bool HasKey(JsonNode? item, ItemKey key) =>
        item is JsonObject obj && obj[key.Member] is JsonValue value && (value.TryGetValue<JsonElement>(out var element)
            ? element.ValueKind == JsonValueKind.String && element.ValueEquals(key.Value)
            : value.TryGetValue<string>(out var text) && text == key.Value);

    /// <summary>The string <paramref name="item"/> holds in <paramref name="member"/>, which a key may name it by; null when it holds none.</summary>
    public static string? KeyOf(JsonNode? item, string member) =>
        item is JsonObject obj && obj[member] is JsonValue value
            ? value.TryGetValue<JsonElement>(out var element) ? element.ValueKind == JsonValueKind.String ? element.GetString() : null
            : value.TryGetValue<string>(out var text) ? text : null
            : null;

    private static JsonNode? RequireValue(Command command) =>
        command.Value?.DeepClone() ?? throw new CommandFailedException($"{Name(command.Op)} needs a value");

    private static bool TryIndex(string token, out int index)
    {
        index = -1;
        if (token.Length == 0 || (token.Length > 1 && token[0] == '0')) return false;
        return int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    private static string Prefix(DocumentPath path, int segments) =>
        "/" + string.Join('/', path.Segments.Take(segments).Select(DocumentPath.Escape));

    private static string Describe(JsonNode node) => node.GetValueKind().ToString().ToLowerInvariant();

    private static string Name(CommandOp op) => op.WireName();
}

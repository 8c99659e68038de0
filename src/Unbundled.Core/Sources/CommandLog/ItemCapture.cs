using System.Globalization;
using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Sdk.Events;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// The item of an array of the model that a command writes in or below (<c>/todos/[id=t5]/done</c>, or a todo
/// created or deleted whole), caught as it was before the command runs in place and as it is after: with the
/// model's other fields, that is all a projection deriving per item needs (<see cref="ItemChange"/>).
/// </summary>
internal sealed class ItemCapture
{
    private readonly string _field;
    private readonly int _slot;
    private readonly bool _inside;
    private readonly int _count;
    private readonly JsonNode? _item;
    private readonly JsonObject _model;

    private ItemCapture(string field, int slot, bool inside, int count, JsonNode? item, JsonObject model, DocumentPath path) =>
        (_field, _slot, _inside, _count, _item, _model, Path) = (field, slot, inside, count, item, model, path);

    /// <summary>The command's path with the item's key replaced by its slot: applying the command there finds the item without looking for it again.</summary>
    public DocumentPath Path { get; }

    /// <summary>
    /// Catches the item of <paramref name="field"/> that <paramref name="command"/> will write, or null when it writes more or elsewhere (the array itself,
    /// other fields, a move); <paramref name="slots"/>, when given, finds an item named by key.
    /// </summary>
    public static ItemCapture? Before(JsonNode? model, Command command, DocumentPath path, string field, ItemSlots? slots)
    {
        if (command.Op == CommandOp.Move || path.Segments.Count < 2 || path.Segments[0] != field || model is not JsonObject root || root[field] is not JsonArray items) return null;
        var token = path.Segments[1];
        var byKey = ItemKey.TryParse(token, out var key);
        // The item's slot; an item created at a key's place goes in before that item, and at "-" after the last.
        var slot = token == "-" ? items.Count
            : byKey && slots is not null ? slots.Find(items, key)
            : ModelDocument.TryFindItem(items, token, out var found) ? found : -1;
        if (slot < 0) return null;
        var resolved = byKey ? path.WithSegment(1, slot.ToString(CultureInfo.InvariantCulture)) : path;
        return new ItemCapture(field, slot, path.Segments.Count > 2, items.Count, slot < items.Count ? items[slot]?.DeepClone() : null, Others(root, field), resolved);
    }

    /// <summary>The change of the item caught, now that the command has run on <paramref name="model"/>; null when it did not touch one item only.</summary>
    public ItemChange? After(JsonNode? model)
    {
        if (model is not JsonObject root || root[_field] is not JsonArray items) return null;
        // Only an item created or deleted whole changes the array's length; below an item, or replacing it, nothing moves.
        var (before, after) = (_inside, items.Count - _count) switch
        {
            (_, 0) when _slot < _count => (Items(_item), Items(items[_slot]?.DeepClone())),
            (false, 1) => (new JsonArray(), Items(items[_slot]?.DeepClone())),
            (false, -1) when _slot < _count => (Items(_item), new JsonArray()),
            _ => ((JsonArray?)null, (JsonArray?)null),
        };
        if (before is null || after is null) return null;
        return new ItemChange(_field, With(_model, _field, before), With(Others(root, _field), _field, after));
    }

    private static JsonArray Items(JsonNode? item) => [item];

    /// <summary>A copy of the model's fields, the array's left empty.</summary>
    private static JsonObject Others(JsonObject root, string field)
    {
        var others = new JsonObject();
        foreach (var (name, value) in root) others[name] = name == field ? null : value?.DeepClone();
        return others;
    }

    private static JsonObject With(JsonObject others, string field, JsonArray items)
    {
        others[field] = items;
        return others;
    }
}

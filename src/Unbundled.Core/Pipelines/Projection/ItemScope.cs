using System.Text.Json.Nodes;
using Unbundled.Model;
using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.Projection;

/// <summary>
/// Narrows a change below one item of a projection's <c>ItemsField</c> array to that item: the event's states keep
/// the model's other fields and hold, in the array, only the item as it was and as it is. Projecting the narrowed
/// event derives exactly the documents of the whole one that can differ, at the cost of one item instead of the
/// whole model twice (issue #17: ticking one todo of a thousand projected two thousand).
/// </summary>
internal static class ItemScope
{
    /// <summary>The change narrowed to the one item its path writes, or null when it may reach further (the array itself, the model's other fields, a move).</summary>
    public static ChangeEvent? Narrow(ChangeEvent change, string field)
    {
        if (change is not { Op: ChangeOp.Update, Path: { } text, Before: JsonObject before, After: JsonObject after }) return null;
        if (!DocumentPath.TryParse(text, out var path, out _) || path.Segments.Count < 2 || path.Segments[0] != field) return null;
        if (before[field] is not JsonArray was || after[field] is not JsonArray @is) return null;

        var (token, inside) = (path.Segments[1], path.Segments.Count > 2);
        // The item's slot in the state before; an item created at a key's place is inserted before that item.
        var slot = token == "-" ? was.Count : ModelDocument.TryFindItem(was, token, out var found) ? found : -1;
        if (slot < 0) return null;
        // Only an item created or deleted whole changes the array's length; below an item, or replacing it, nothing moves.
        var grown = @is.Count - was.Count;
        var (old, now) = (inside, grown) switch
        {
            (_, 0) when slot < was.Count => (was[slot], @is[slot]),
            (false, 1) => ((JsonNode?)null, @is[slot]),
            (false, -1) when slot < was.Count => (was[slot], (JsonNode?)null),
            _ => (null, null),
        };
        if (old is null && now is null) return null;
        return change with { Before = Keep(before, field, old), After = Keep(after, field, now) };
    }

    /// <summary>The model's fields with <paramref name="field"/> holding only <paramref name="item"/> (nothing, when null).</summary>
    private static JsonObject Keep(JsonObject model, string field, JsonNode? item)
    {
        var narrowed = new JsonObject();
        foreach (var (name, value) in model)
            narrowed[name] = name == field ? (item is null ? new JsonArray() : new JsonArray(item.DeepClone())) : value?.DeepClone();
        return narrowed;
    }
}

using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// Where each item of one of the reader's own arrays is, by the member commands name items by (<c>[id=t5]</c>).
/// Built in one pass and kept while commands change only the insides of items without touching their key: a tick of
/// one todo among a thousand then finds it at once, where it scanned the list twice per change (to catch the item,
/// and to apply the command).
/// </summary>
internal sealed class ItemSlots
{
    private JsonArray? _items;
    private string? _member;
    private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);

    /// <summary>The slot of the one item of <paramref name="items"/> with <paramref name="key"/>; -1 when none or several have it.</summary>
    public int Find(JsonArray items, ItemKey key)
    {
        if (!ReferenceEquals(items, _items) || key.Member != _member) Build(items, key.Member);
        if (!_slots.TryGetValue(key.Value, out var slot)) return -1;
        // A slot that no longer holds its key means a change this index missed; finding it again costs one scan.
        if (slot < 0 || (slot < items.Count && ModelDocument.HasKey(items[slot], key))) return slot;
        Build(items, key.Member);
        return _slots.GetValueOrDefault(key.Value, -1);
    }

    /// <summary>Forgets the slots unless <paramref name="command"/> changes only the inside of one item of <paramref name="field"/> and not its key, or another field.</summary>
    public void Keep(Command command, DocumentPath path, string field)
    {
        var segments = path.Segments;
        var insideItem = segments.Count > 2 && segments[2] != _member;
        if (command.Op == CommandOp.Move || segments.Count == 0 || (segments[0] == field && !insideItem)) _items = null;
    }

    private void Build(JsonArray items, string member)
    {
        _slots.Clear();
        for (var i = 0; i < items.Count; i++)
        {
            if (ModelDocument.KeyOf(items[i], member) is not { } value) continue;
            // Two items with one key: the key names neither, as ModelDocument decides.
            _slots[value] = _slots.ContainsKey(value) ? -1 : i;
        }
        (_items, _member) = (items, member);
    }
}

using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Sources.CommandLog;

/// <summary>
/// A model's states from one copy on: the copy at <see cref="From"/>, and the commands after it. A state is copied
/// from the newest one made (or the copy) only when a consumer asks for it: a consumer reading every event's states
/// in order pays one copy per change, as before, and one that reads none (a projection narrowed to the changed
/// item) pays none. Only the copy and the two newest states made are kept; events hold their own.
/// </summary>
internal sealed class ModelHistory(long from, JsonNode? copy)
{
    private readonly List<(Command Command, DocumentPath Path)> _commands = [];
    // The two newest states made: a consumer reading each event's after, then its before, asks for both in turn.
    private (long Version, JsonNode? State) _newest = (from, copy);
    private (long Version, JsonNode? State) _previous = (from, copy);

    /// <summary>How many commands the history holds after its copy.</summary>
    public int Length
    {
        get
        {
            lock (_commands) return _commands.Count;
        }
    }

    /// <summary>Extends the history by the command that made the next version.</summary>
    public void Add(Command command, DocumentPath path)
    {
        lock (_commands) _commands.Add((command, path));
    }

    /// <summary>The model's state at <paramref name="version"/> (from the copy's to the newest command's); consumers must not change it.</summary>
    public JsonNode? StateAt(long version)
    {
        lock (_commands)
        {
            if (version == from) return copy;
            if (version == _newest.Version) return _newest.State;
            if (version == _previous.Version) return _previous.State;
            if (version < from || version > from + _commands.Count) throw new ArgumentOutOfRangeException(nameof(version), version, $"the history holds versions {from} to {from + _commands.Count}");
            var (at, state) = _newest.Version < version ? _newest : _previous.Version < version ? _previous : (from, copy);
            state = state?.DeepClone();
            for (var v = at + 1; v <= version; v++)
            {
                var (command, path) = _commands[(int)(v - from - 1)];
                state = ModelDocument.Apply(state, command, path);
            }
            (_previous, _newest) = (_newest, (version, state));
            return state;
        }
    }
}

using Unbundled.Log;
using Unbundled.Model;

namespace Unbundled.Master;

/// <summary>
/// Idempotent flushes without a table of their own: every command of a keyed flush carries the key as
/// metadata <c>flush</c>, so the log itself remembers which flushes it holds. A retry of a flush that
/// landed always names a base version below the model's current one (the landing moved it), so only
/// then are the commands after that base searched for the key; the answer rebuilt from them is the
/// one the first attempt would have had.
/// </summary>
public static class FlushIdempotency
{
    /// <summary>The metadata name of the key on each command.</summary>
    public const string MetaName = "flush";

    /// <summary>Keys are 1 to 128 printable ASCII characters.</summary>
    public static bool IsValidKey(string key) => key.Length is > 0 and <= 128 && key.All(c => c is >= '!' and <= '~');

    /// <summary>The commands of a keyed flush, as they are stored.</summary>
    public static Command Mark(Command command, string? key) => key is null ? command : command.WithMeta(MetaName, key);

    /// <summary>The first answer to a flush already in <paramref name="after"/> (entries after the request's base), or null when it is not there.</summary>
    public static FlushResult? Find(FlushRequest request, IReadOnlyList<LogEntry> after)
    {
        if (request.IdempotencyKey is not { } key) return null;
        var last = -1;
        for (var i = 0; i < after.Count; i++)
        {
            if (after[i].Command.Meta is { } meta && meta.TryGetValue(MetaName, out var marked) && marked == key) last = i;
        }
        if (last < 0) return null;
        var answered = after.Take(last + 1).ToList();
        return new FlushResult(request.Model, answered[^1].Version, answered[^1].Position, answered, null);
    }
}

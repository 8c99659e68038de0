namespace Unbundled.Pipelines.Definition;

/// <summary>How many single-character edits turn one word into another, for "did you mean" hints.</summary>
public static class EditDistance
{
    /// <summary>The Levenshtein distance between <paramref name="a"/> and <paramref name="b"/>, ignoring case.</summary>
    public static int Between(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        var current = new int[b.Length + 1];
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }

    /// <summary>The closest of <paramref name="known"/> to <paramref name="written"/>, when it is close enough to be a typo.</summary>
    public static string? Closest(string written, IEnumerable<string> known) =>
        known.Select(k => (Name: k, Distance: Between(written, k)))
            .Where(k => k.Distance <= Math.Max(2, written.Length / 3))
            .OrderBy(k => k.Distance)
            .Select(k => k.Name)
            .FirstOrDefault();
}

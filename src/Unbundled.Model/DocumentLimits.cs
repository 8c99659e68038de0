using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Unbundled.Model;

/// <summary>
/// What the log may accept, checked before anything is durable: everything it holds must stay
/// readable, derivable and servable, so a model id, a type, a value or a resulting document that a
/// reader, a projection or a sink would later choke on is refused at flush time instead.
/// </summary>
public static partial class DocumentLimits
{
    /// <summary>Model ids: letters, digits and <c>. _ ~ - @</c>, 1 to 128 characters (safe in URLs, keys, channels and file names).</summary>
    public static bool IsValidId(string? id) => id is { Length: > 0 and <= 128 } && IdPattern().IsMatch(id);

    /// <summary>
    /// Why <paramref name="value"/>, placed <paramref name="pathDepth"/> members below the document's root,
    /// cannot be stored, or null: a number no reader holds as a finite double (1e400, or a literal too
    /// long to be a number), nesting that takes the document deeper than <paramref name="maxDepth"/>, or
    /// text no log can hold (<see cref="RefuseText"/>). The rest of the document was within the limit
    /// already, so only the value needs walking.
    /// </summary>
    public static string? Refuse(JsonNode? value, int maxDepth, int pathDepth = 0) => Check(value, maxDepth, pathDepth + 1);

    /// <summary>
    /// Why <paramref name="text"/> (a string value, a member name, a path) cannot be stored, or null: a NUL
    /// character or a lone UTF-16 surrogate, which PostgreSQL's jsonb refuses. Accepted, the append failed with
    /// a server error for every flush committed with it.
    /// </summary>
    public static string? RefuseText(string? text)
    {
        if (text is null) return null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0') return "the text holds a NUL character (U+0000), which the log cannot store";
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(c)) return $"the text holds a lone surrogate (U+{(int)c:X4}), which is no Unicode character";
        }
        return null;
    }

    private static string? Check(JsonNode? node, int maxDepth, int depth)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject or JsonArray:
                if (depth > maxDepth) return $"the document would nest deeper than the {maxDepth} levels a model may have";
                if (node is JsonObject members)
                {
                    foreach (var (name, child) in members)
                    {
                        if ((RefuseText(name) ?? Check(child, maxDepth, depth + 1)) is { } problem) return problem;
                    }
                    return null;
                }
                foreach (var item in node.AsArray())
                {
                    if (Check(item, maxDepth, depth + 1) is { } problem) return problem;
                }
                return null;
            default:
                if (node.GetValueKind() == JsonValueKind.String) return RefuseText(node.GetValue<string>());
                if (node.GetValueKind() != JsonValueKind.Number) return null;
                var text = node.ToJsonString();
                return text.Length <= 40 && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                    ? null
                    : $"the number {(text.Length > 40 ? text[..40] + "…" : text)} is outside what a document may hold (a finite double)";
        }
    }

    /// <summary>The size of a node written as JSON, in bytes, without keeping the text.</summary>
    public static long JsonSize(JsonNode? node)
    {
        if (node is null) return 4;
        using var counter = new Utf8JsonWriter(Stream.Null);
        node.WriteTo(counter);
        counter.Flush();
        return counter.BytesCommitted;
    }

    [GeneratedRegex("^[A-Za-z0-9._~@-]+$")]
    private static partial Regex IdPattern();
}

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

    /// <summary>Model types: a lowercase letter, then lowercase letters, digits and '-', at most 64.</summary>
    public static bool IsValidType(string? type) => type is { Length: > 0 and <= 64 } && TypePattern().IsMatch(type);

    /// <summary>
    /// Why <paramref name="value"/> cannot be stored, or null: a number no reader holds as a finite
    /// double (1e400, or a literal too long to be a number), or nesting deeper than <paramref name="maxDepth"/>.
    /// </summary>
    public static string? Refuse(JsonNode? value, int maxDepth) => Check(value, maxDepth, 1);

    private static string? Check(JsonNode? node, int maxDepth, int depth)
    {
        switch (node)
        {
            case null:
                return null;
            case JsonObject obj:
                if (depth > maxDepth) return $"the value nests deeper than the {maxDepth} levels a document may have";
                foreach (var (_, child) in obj)
                {
                    if (Check(child, maxDepth, depth + 1) is { } problem) return problem;
                }
                return null;
            case JsonArray array:
                if (depth > maxDepth) return $"the value nests deeper than the {maxDepth} levels a document may have";
                foreach (var child in array)
                {
                    if (Check(child, maxDepth, depth + 1) is { } problem) return problem;
                }
                return null;
            default:
                if (node.GetValueKind() != JsonValueKind.Number) return null;
                var text = node.ToJsonString();
                return text.Length <= 40 && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number)
                    ? null
                    : $"the number {(text.Length > 40 ? text[..40] + "…" : text)} is outside what a document may hold (a finite double)";
        }
    }

    /// <summary>How deep a node nests (a scalar is 0, an empty object or array 1).</summary>
    public static int Depth(JsonNode? node) => node switch
    {
        JsonObject obj => 1 + (obj.Count == 0 ? 0 : obj.Max(p => Depth(p.Value))),
        JsonArray array => 1 + (array.Count == 0 ? 0 : array.Max(Depth)),
        _ => 0,
    };

    [GeneratedRegex("^[A-Za-z0-9._~@-]+$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[a-z][a-z0-9-]*$")]
    private static partial Regex TypePattern();
}

using System.Text.RegularExpressions;
using Unbundled.Pipelines.Joins;
using Unbundled.Pipelines.Projection;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>Reads a pipeline's <c>join:</c>: the table whose rows are embedded, the template naming a document's row, and the field it goes under.</summary>
internal static partial class JoinReader
{
    /// <summary>The join at <paramref name="node"/>, or null with its problems reported.</summary>
    public static JoinDefinition? Read(YamlReading reading, YamlNode node, string where)
    {
        var what = $"'join' of {where}";
        if (reading.Mapping(node, what) is not { } body) return null;
        reading.OnlyKeys(body, what, "table", "on", "as");
        var before = reading.Problems.Count;
        string? Required(string key, string hint)
        {
            if (YamlReading.Child(body, key) is not { } child)
            {
                reading.Problem(body, $"{what} has no '{key}': {hint}");
                return null;
            }
            return reading.Scalar(child, $"'{key}' of {what}");
        }
        var table = Required("table", "name the table (a model type, or a table of the same source) whose rows are embedded");
        var on = Required("on", "give the template of the row's key over each document, e.g. \"{after.createdBy}\"");
        var field = Required("as", "name the field the row goes under");
        if (on is not null && !EventPath.TryParseTemplate(on, isKey: true, out _, out var error)) reading.Problem(YamlReading.Child(body, "on")!, $"'on' of {what}: {error}");
        if (field is not null && !Field().IsMatch(field))
            reading.Problem(YamlReading.Child(body, "as")!, $"'as' of {what} is '{field}'; it must be a field name (letters, digits, '_' and '-')");
        return reading.Problems.Count > before || table is null || on is null || field is null ? null : new JoinDefinition(table, on, field);
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex Field();
}

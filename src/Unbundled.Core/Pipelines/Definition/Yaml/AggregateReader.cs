using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.Filtering;
using Unbundled.Pipelines.Projection;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>Reads a pipeline's <c>aggregate:</c>: its group template, its membership filter and its fields.</summary>
internal static class AggregateReader
{
    private static readonly Dictionary<string, AggregateFunction> Functions = new(StringComparer.Ordinal)
    {
        ["count"] = AggregateFunction.Count,
        ["sum"] = AggregateFunction.Sum,
        ["min"] = AggregateFunction.Min,
        ["max"] = AggregateFunction.Max,
        ["avg"] = AggregateFunction.Avg,
        ["collect"] = AggregateFunction.Collect,
        ["distinct-count"] = AggregateFunction.DistinctCount,
    };

    /// <summary>The most values a <c>collect</c> keeps: a group's document stays small enough for any sink.</summary>
    private const int MaxLimit = 1000;

    /// <summary>The aggregation at <paramref name="node"/>, or null with its problems reported.</summary>
    public static AggregateDefinition? Read(YamlReading reading, YamlNode node, string where)
    {
        var what = $"'aggregate' of {where}";
        if (reading.Mapping(node, what) is not { } body) return null;
        reading.OnlyKeys(body, what, "group-by", "where", "fields");
        var before = reading.Problems.Count;
        string? groupBy = null;
        if (YamlReading.Child(body, "group-by") is not { } groupNode) reading.Problem(body, $"{what} has no 'group-by': give the template of a member's group, e.g. \"{{after.customer}}\"");
        else if (reading.Scalar(groupNode, $"'group-by' of {where}") is { } template)
        {
            if (EventPath.TryParseTemplate(template, isKey: true, out _, out var error)) groupBy = template;
            else reading.Problem(groupNode, $"'group-by' of {where}: {error}");
        }
        FilterExpression? filter = null;
        if (YamlReading.Child(body, "where") is { } whereNode && reading.Scalar(whereNode, $"'where' of {what}") is { } text)
        {
            try { filter = FilterCompiler.Compile(text); }
            catch (FilterSyntaxException error)
            {
                var quoted = whereNode is YamlScalarNode { Style: ScalarStyle.DoubleQuoted or ScalarStyle.SingleQuoted } ? 1 : 0;
                var at = reading.At(whereNode);
                reading.Problem(at with { Column = at.Column + quoted + error.Column - 1 }, $"'where' of {what}: {error.Message}");
            }
        }
        var fields = new List<AggregateField>();
        if (YamlReading.Child(body, "fields") is not { } fieldsNode) reading.Problem(body, $"{what} has no 'fields': name what each group's document holds, e.g. open: count");
        else if (reading.Mapping(fieldsNode, $"'fields' of {what}") is { } fieldMap)
        {
            foreach (var (key, value) in fieldMap.Children)
            {
                var name = ((YamlScalarNode)key).Value ?? "";
                if (name == "group") reading.Problem(key, $"field 'group' of {what}: the name is taken by the group's key, which every group's document holds");
                else if (ReadField(reading, name, value, what) is { } field) fields.Add(field);
            }
        }
        return reading.Problems.Count > before || groupBy is null ? null : new AggregateDefinition(groupBy, filter, fields);
    }

    private static AggregateField? ReadField(YamlReading reading, string name, YamlNode node, string where)
    {
        var what = $"field '{name}' of {where}";
        // "open: count" is the one function without a value.
        if (node is YamlScalarNode scalar)
        {
            if (scalar.Value == "count") return new AggregateField(name, AggregateFunction.Count, null);
            reading.Problem(node, $"{what} is '{scalar.Value}'; write count, or one of {{ sum | min | max | avg | collect | distinct-count: <path> }}");
            return null;
        }
        if (reading.Mapping(node, what) is not { } body) return null;
        reading.OnlyKeys(body, what, [.. Functions.Keys.Where(f => f != "count"), "order-by", "order", "limit"]);
        var named = body.Children.Keys.OfType<YamlScalarNode>().Where(k => k.Value is { } v && Functions.ContainsKey(v) && v != "count").ToList();
        if (named.Count != 1)
        {
            reading.Problem(node, $"{what} must name exactly one of sum, min, max, avg, collect, distinct-count with the path it reads");
            return null;
        }
        var function = Functions[named[0].Value!];
        var path = Path(reading, body.Children[named[0]], what);
        string? orderBy = null;
        var (descending, limit) = (false, 10);
        if (function != AggregateFunction.Collect)
        {
            foreach (var only in new[] { "order-by", "order", "limit" })
                if (YamlReading.Child(body, only) is { } misplaced) reading.Problem(misplaced, $"'{only}' of {what}: only collect is ordered and limited");
        }
        else
        {
            if (YamlReading.Child(body, "order-by") is { } orderNode) orderBy = Path(reading, orderNode, what);
            if (YamlReading.Child(body, "order") is { } directionNode && reading.Scalar(directionNode, $"'order' of {what}") is { } direction)
            {
                if (direction is "asc" or "desc") descending = direction == "desc";
                else reading.Problem(directionNode, $"'order' of {what} is '{direction}'; it must be asc or desc");
            }
            if (YamlReading.Child(body, "limit") is { } limitNode && reading.Scalar(limitNode, $"'limit' of {what}") is { } written
                && (!int.TryParse(written, out limit) || limit < 1 || limit > MaxLimit))
                reading.Problem(limitNode, $"'limit' of {what} is '{written}'; it must be a whole number from 1 to {MaxLimit}");
        }
        return path is null ? null : new AggregateField(name, function, path, orderBy, descending, limit);
    }

    private static string? Path(YamlReading reading, YamlNode node, string what)
    {
        if (reading.Scalar(node, what) is not { } text) return null;
        if (EventPath.TryParse(text, out _, out var error)) return text;
        reading.Problem(node, $"{what}: {error}", "A member's fields are read as after.<field>");
        return null;
    }
}

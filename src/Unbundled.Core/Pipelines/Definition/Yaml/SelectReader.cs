using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Templates;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>Reads a pipeline's declarative projection (<c>select:</c>): its key template and its fields (paths, templates, constants).</summary>
internal static class SelectReader
{
    /// <summary>What a pipeline with neither <c>projection</c> nor <c>select</c> writes, as a pipe without <c>select</c> does: the whole row, by the change's key.</summary>
    public static SelectProjection WholeRow { get; } = new("{key}", [new SelectField(SelectProjector.Spread, new PathValue("after"))]);

    /// <summary>The selection at <paramref name="node"/>, or null with its problems reported.</summary>
    public static SelectProjection? Read(YamlReading reading, YamlNode node, string where)
    {
        if (reading.Mapping(node, $"'select' of {where}") is not { } select) return null;
        reading.OnlyKeys(select, $"'select' of {where}", "key", "fields");
        var keyTemplate = "{key}";
        if (YamlReading.Child(select, "key") is { } keyNode && reading.Scalar(keyNode, $"'key' of {where}") is { } key)
        {
            if (EventPath.TryParseTemplate(key, isKey: true, out _, out var error)) keyTemplate = key;
            else reading.Problem(keyNode, $"'key' of {where}: {error}");
        }
        var fields = new List<SelectField>();
        if (YamlReading.Child(select, "fields") is not { } fieldsNode)
        {
            reading.Problem(select, $"'select' of {where} has no 'fields'");
            return null;
        }
        // "fields: after" is short for { "*": after }: the document is the object at that path.
        if (fieldsNode is YamlScalarNode whole)
        {
            if (ReadField(reading, SelectProjector.Spread, whole, where) is { } spread) fields.Add(new SelectField(SelectProjector.Spread, spread));
            return new SelectProjection(keyTemplate, fields);
        }
        if (reading.Mapping(fieldsNode, $"'fields' of {where}") is not { } fieldMap) return null;
        foreach (var (fieldKey, fieldValue) in fieldMap.Children)
        {
            var name = ((YamlScalarNode)fieldKey).Value ?? "";
            if (ReadField(reading, name, fieldValue, where) is { } field) fields.Add(new SelectField(name, field));
        }
        return new SelectProjection(keyTemplate, fields);
    }

    private static FieldValue? ReadField(YamlReading reading, string name, YamlNode node, string where)
    {
        var what = $"field '{name}' of {where}";
        if (node is YamlMappingNode literal)
        {
            reading.OnlyKeys(literal, what, "value");
            return YamlReading.Child(literal, "value") is { } value ? new LiteralValue(ToJson(value)) : null;
        }
        if (reading.Scalar(node, what) is not { } text) return null;
        if (KeyTemplate.HasPlaceholders(text))
        {
            if (EventPath.TryParseTemplate(text, isKey: false, out _, out var error)) return new TemplateValue(text);
            reading.Problem(node, $"{what}: {error}");
            return null;
        }
        if (EventPath.TryParse(text, out _, out var pathError)) return new PathValue(text);
        reading.Problem(node, $"{what}: {pathError}", "For a constant, write { value: ... }");
        return null;
    }

    private static System.Text.Json.Nodes.JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new System.Text.Json.Nodes.JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value ?? "", ToJson(c.Value)))),
        YamlSequenceNode list => new System.Text.Json.Nodes.JsonArray(list.Select(ToJson).ToArray()),
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when scalar.Value is "null" or "~" or "" => null,
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when bool.TryParse(scalar.Value, out var b) => b,
        YamlScalarNode { Style: ScalarStyle.Plain } scalar when double.TryParse(scalar.Value, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) => d,
        YamlScalarNode scalar => scalar.Value,
        _ => null,
    };
}

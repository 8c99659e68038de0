using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// An index's mapping, as the Mapping reference describes it: explicit field types, dynamic mapping
/// (strings become <c>text</c> with a <c>.keyword</c> multi-field unless date detection recognises a
/// date, integers <c>long</c>, fractions <c>float</c>), <c>dynamic: true|false|strict</c>, type checks
/// with coercion, and the total-fields limit counting objects and multi-fields.
/// </summary>
internal sealed partial class IndexMapping
{
    private static readonly HashSet<string> Types = ["text", "keyword", "long", "integer", "short", "byte", "double", "float", "boolean", "date", "object", "nested", "flattened"];

    private readonly Dictionary<string, string> _fields = new(StringComparer.Ordinal);
    private string _dynamic = "true";
    private bool _dateDetection = true;

    /// <summary>The mapped type of a dotted field path, if mapped.</summary>
    public string? TypeOf(string field) => _fields.GetValueOrDefault(field);

    /// <summary>Fields counted against index.mapping.total_fields.limit: each mapped field plus each <c>.keyword</c> multi-field.</summary>
    public int FieldCount => _fields.Count;

    /// <summary>Parses a create-index <c>mappings</c> object; throws mapper_parsing_exception for unknown types.</summary>
    public static IndexMapping Parse(JsonObject? mappings, int limit)
    {
        var mapping = new IndexMapping();
        if (mappings is null) return mapping;
        mapping._dynamic = mappings["dynamic"]?.ToString().ToLowerInvariant() ?? "true";
        if (mapping._dynamic is not ("true" or "false" or "strict" or "runtime"))
            throw new EsError(400, "mapper_parsing_exception", $"Failed to parse mapping: Could not convert [dynamic] to boolean");
        mapping._dateDetection = mappings["date_detection"]?.GetValue<bool>() ?? true;
        if (mappings["properties"] is JsonObject properties) mapping.AddProperties(properties, "");
        if (mapping._fields.Count > limit) throw EsError.BadRequest($"Limit of total fields [{limit}] has been exceeded");
        return mapping;
    }

    private void AddProperties(JsonObject properties, string prefix)
    {
        foreach (var (name, definition) in properties)
        {
            var path = prefix + name;
            var type = (string?)definition?["type"] ?? (definition?["properties"] is not null ? "object" : null);
            if (type is null || !Types.Contains(type))
                throw new EsError(400, "mapper_parsing_exception", $"Failed to parse mapping: No handler for type [{type}] declared on field [{name}]");
            _fields[path] = type;
            if (definition?["fields"]?["keyword"] is not null) _fields[path + ".keyword"] = "keyword";
            if (definition?["properties"] is JsonObject nested) AddProperties(nested, path + ".");
        }
    }

    /// <summary>
    /// Checks <paramref name="source"/> against the mapping and adds its new fields; nothing is added
    /// when the document is refused, as a refused document leaves the mapping as it was.
    /// </summary>
    public EsError? Admit(JsonObject source, string id, int limit)
    {
        var added = new Dictionary<string, string>(StringComparer.Ordinal);
        var error = Check(source, "", id, added);
        if (error is not null) return error;
        if (_fields.Count + added.Count > limit)
            return new EsError(400, "document_parsing_exception",
                $"[1:2] failed to parse: Limit of total fields [{limit}] has been exceeded while adding new fields [{added.Count}]");
        foreach (var (field, type) in added) _fields[field] = type;
        return null;
    }

    private EsError? Check(JsonObject source, string prefix, string id, Dictionary<string, string> added)
    {
        foreach (var (name, value) in source)
        {
            var path = prefix + name;
            if (value is null) continue;
            var mapped = _fields.GetValueOrDefault(path) ?? added.GetValueOrDefault(path);
            if (mapped is null)
            {
                if (_dynamic == "false") continue;
                if (_dynamic == "strict")
                    return new EsError(400, "strict_dynamic_mapping_exception",
                        $"[1:2] mapping set to strict, dynamic introduction of [{name}] within [{(prefix.Length == 0 ? "_doc" : prefix.TrimEnd('.'))}] is not allowed");
                mapped = Infer(value);
                if (mapped is null) continue;
                added[path] = mapped;
                if (mapped == "text") added[path + ".keyword"] = "keyword";
            }
            var error = Fits(mapped, value, path, id, added);
            if (error is not null) return error;
        }
        return null;
    }

    private EsError? Fits(string type, JsonNode value, string path, string id, Dictionary<string, string> added)
    {
        if (value is JsonArray array)
        {
            foreach (var item in array)
            {
                if (item is null) continue;
                if (Fits(type, item, path, id, added) is { } error) return error;
            }
            return null;
        }
        if (type is "object" or "nested")
        {
            return value is JsonObject inner
                ? Check(inner, path + ".", id, added)
                : new EsError(400, "document_parsing_exception", $"[1:2] object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value");
        }
        if (type == "flattened") return null;
        if (value is JsonObject) return Unparsable(path, type, id, value);
        var kind = value.GetValueKind();
        var text = kind == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();
        var fits = type switch
        {
            "text" or "keyword" => true,
            "long" or "integer" or "short" or "byte" => kind is JsonValueKind.Number or JsonValueKind.String && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
            "double" or "float" => kind is JsonValueKind.Number or JsonValueKind.String && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _),
            "boolean" => kind is JsonValueKind.True or JsonValueKind.False || text is "true" or "false" or "",
            "date" => kind == JsonValueKind.Number || IsDate(text),
            _ => true,
        };
        return fits ? null : Unparsable(path, type, id, value);
    }

    private static EsError Unparsable(string path, string type, string id, JsonNode value) =>
        new(400, "document_parsing_exception", $"[1:2] failed to parse field [{path}] of type [{type}] in document with id '{id}'. Preview of field's value: '{value.ToJsonString().Trim('"')}'");

    private string? Infer(JsonNode value)
    {
        if (value is JsonObject) return "object";
        if (value is JsonArray array) return array.FirstOrDefault(item => item is not null) is { } first ? Infer(first) : null;
        return value.GetValueKind() switch
        {
            JsonValueKind.Number => value.ToJsonString().IndexOfAny(['.', 'e', 'E']) >= 0 ? "float" : "long",
            JsonValueKind.True or JsonValueKind.False => "boolean",
            JsonValueKind.String when _dateDetection && IsDate(value.GetValue<string>()) => "date",
            _ => "text",
        };
    }

    /// <summary>The default dynamic_date_formats: strict_date_optional_time, and yyyy/MM/dd HH:mm:ss Z || yyyy/MM/dd Z.</summary>
    public static bool IsDate(string text) => StrictDateOptionalTime().IsMatch(text) || SlashDate().IsMatch(text);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$")]
    private static partial Regex StrictDateOptionalTime();

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2}( \d{2}:\d{2}:\d{2})?( (Z|[+-]\d{4}))?$")]
    private static partial Regex SlashDate();
}

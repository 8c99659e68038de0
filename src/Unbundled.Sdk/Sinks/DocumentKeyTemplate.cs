using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
namespace Unbundled.Sdk.Sinks;

/// <summary>
/// A name built from a derived document (a Redis key, a feed channel): <c>{field}</c> takes a top-level
/// field, <c>{key}</c> the projected key. Names are injective: with several placeholders, <c>%</c> and
/// every character of the literals between them are percent-escaped in values, so <c>{a}:{b}</c> can never
/// render "x:y" + "z" and "x" + "y:z" alike; two placeholders with no literal between them are refused. A
/// single placeholder needs no escaping (its fixed prefix and suffix cannot be confused).
/// </summary>
public sealed class DocumentKeyTemplate
{
    private readonly List<(bool IsField, string Text)> _parts = [];
    private char[] _escaped = ['%'];
    private Regex? _shape;

    private DocumentKeyTemplate() { }

    /// <summary>Parses a template, or says why it is not one.</summary>
    public static bool TryParse(string text, out DocumentKeyTemplate template, out string? error)
    {
        template = new DocumentKeyTemplate();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '}')
            {
                error = $"'{text}' has a '}}' without its '{{' at character {i + 1}";
                return false;
            }
            if (text[i] != '{') { literal.Append(text[i]); continue; }
            var end = text.IndexOf('}', i + 1);
            if (end < 0 || end == i + 1)
            {
                error = end < 0 ? $"'{text}' has a '{{' that is never closed at character {i + 1}" : $"'{text}' has an empty placeholder at character {i + 1}";
                return false;
            }
            if (literal.Length > 0) template._parts.Add((false, literal.ToString()));
            else if (template._parts.Count > 0 && template._parts[^1].IsField)
            {
                error = $"'{text}' has two placeholders with nothing between them at character {i + 1}; separate them with a literal, or the names would be ambiguous";
                return false;
            }
            literal.Clear();
            template._parts.Add((true, text[(i + 1)..end]));
            i = end;
        }
        if (literal.Length > 0) template._parts.Add((false, literal.ToString()));
        var fields = template._parts.Select((p, index) => (p, index)).Where(x => x.p.IsField).Select(x => x.index).ToList();
        template._escaped = fields.Count < 2 ? []
            : [.. template._parts.Where((p, index) => !p.IsField && index > fields[0] && index < fields[^1]).SelectMany(p => p.Text).Append('%').Distinct()];
        error = null;
        return true;
    }

    /// <summary>True when some document could render to <paramref name="name"/>: the literals are in place and every placeholder has a value.</summary>
    public bool CanRender(string name)
    {
        _shape ??= new Regex("^" + string.Concat(_parts.Select(p => p.IsField ? "(.+)" : Regex.Escape(p.Text))) + "$",
            RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        return _shape.IsMatch(name);
    }

    /// <summary>The key of <paramref name="document"/>, or null with the field that is missing.</summary>
    public string? Render(SinkDocument document, out string? missing)
    {
        var key = new StringBuilder();
        missing = null;
        foreach (var (isField, text) in _parts)
        {
            if (!isField) { key.Append(text); continue; }
            if (text == "key") { Escape(key, document.Key); continue; }
            var value = document.Document?[text];
            if (value is null || value.GetValueKind() is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                missing = text;
                return null;
            }
            Escape(key, value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
        }
        return key.ToString();
    }

    private void Escape(StringBuilder key, string value)
    {
        if (_escaped.Length == 0 || value.IndexOfAny(_escaped) < 0)
        {
            key.Append(value);
            return;
        }
        foreach (var c in value)
        {
            if (Array.IndexOf(_escaped, c) < 0)
            {
                key.Append(c);
                continue;
            }
            foreach (var b in Encoding.UTF8.GetBytes([c])) key.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

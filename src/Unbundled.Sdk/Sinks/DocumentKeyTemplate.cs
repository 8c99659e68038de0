using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
namespace Unbundled.Sdk.Sinks;

/// <summary>A name built from a derived document (a Redis key, a feed channel): <c>{field}</c> takes a top-level field, <c>{key}</c> the projected key.</summary>
public sealed class DocumentKeyTemplate
{
    private readonly List<(bool IsField, string Text)> _parts = [];
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
            literal.Clear();
            template._parts.Add((true, text[(i + 1)..end]));
            i = end;
        }
        if (literal.Length > 0) template._parts.Add((false, literal.ToString()));
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
            if (text == "key") { key.Append(document.Key); continue; }
            var value = document.Document?[text];
            if (value is null || value.GetValueKind() is JsonValueKind.Object or JsonValueKind.Array or JsonValueKind.Null)
            {
                missing = text;
                return null;
            }
            key.Append(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
        }
        return key.ToString();
    }
}

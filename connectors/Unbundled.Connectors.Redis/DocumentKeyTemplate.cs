using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Redis;

/// <summary>A Redis key built from a document: <c>{field}</c> takes a top-level field, <c>{key}</c> the projected key.</summary>
public sealed class DocumentKeyTemplate
{
    private readonly List<(bool IsField, string Text)> _parts = [];

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

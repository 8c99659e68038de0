using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Sdk.Templates;

/// <summary>
/// A string built from <c>{name}</c> placeholders (<c>{{</c> and <c>}}</c> are literal braces): a view's
/// document key, a Redis key, a feed channel, or display text. The one template type of the SDK and the
/// engine; what a placeholder names is up to the caller (a document field, an event path).
/// <para>
/// A <b>key</b> template is injective: with several placeholders, <c>%</c> and every character of the
/// literals between them are percent-escaped in values, so <c>{a}:{b}</c> can never render "x:y" + "z"
/// and "x" + "y:z" alike; two placeholders with no literal between them are refused; a placeholder
/// whose value is absent, null, an object or an array has no key. A single placeholder needs no escaping
/// (its fixed prefix and suffix cannot be confused). A <b>text</b> template only fills values in.
/// </para>
/// </summary>
public sealed class KeyTemplate
{
    private readonly List<(bool IsPlaceholder, string Text)> _parts;
    private readonly char[] _escaped;
    private readonly bool _isKey;
    private Regex? _shape;

    private KeyTemplate(string text, List<(bool, string)> parts, bool isKey)
    {
        (Text, _parts, _isKey) = (text, parts, isKey);
        Placeholders = [.. parts.Where(p => p.Item1).Select(p => p.Item2).Distinct()];
        var at = parts.Select((p, index) => (p, index)).Where(x => x.p.Item1).Select(x => x.index).ToList();
        _escaped = !isKey || at.Count < 2 ? []
            : [.. parts.Where((p, index) => !p.Item1 && index > at[0] && index < at[^1]).SelectMany(p => p.Item2).Append('%').Distinct()];
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>The names between braces, each once, in order.</summary>
    public IReadOnlyList<string> Placeholders { get; }

    /// <summary>True when <paramref name="text"/> has a placeholder (a text with none is a plain value).</summary>
    public static bool HasPlaceholders(string text) => text.Replace("{{", "").Replace("}}", "").Contains('{');

    /// <summary>Parses a key template, or says why it is not one.</summary>
    public static bool TryParse(string text, out KeyTemplate template, out string? error) => TryParse(text, isKey: true, out template, out error);

    /// <summary>Parses a text template (display text: values filled in as they are), or says why it is not one.</summary>
    public static bool TryParseText(string text, out KeyTemplate template, out string? error) => TryParse(text, isKey: false, out template, out error);

    /// <summary>True when some values could render to <paramref name="name"/>: the literals are in place and every placeholder has a value.</summary>
    public bool CanRender(string name)
    {
        _shape ??= new Regex("^" + string.Concat(_parts.Select(p => p.IsPlaceholder ? "(.+)" : Regex.Escape(p.Text))) + "$",
            RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
        return _shape.IsMatch(name);
    }

    /// <summary>Fills the placeholders with what <paramref name="resolve"/> answers for each name; null, with the name, when one has no value.</summary>
    public string? Render(Func<string, JsonNode?> resolve, out string? missing)
    {
        var rendered = new StringBuilder();
        missing = null;
        foreach (var (isPlaceholder, text) in _parts)
        {
            if (!isPlaceholder) { rendered.Append(text); continue; }
            var value = resolve(text);
            var kind = value?.GetValueKind();
            if (value is null || kind == JsonValueKind.Null || (_isKey && kind is JsonValueKind.Object or JsonValueKind.Array))
            {
                missing = text;
                return null;
            }
            Append(rendered, kind == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
        }
        return rendered.ToString();
    }

    /// <summary>The name of <paramref name="document"/>: <c>{key}</c> is its key, any other placeholder a top-level field; null, with the field, when one is missing.</summary>
    public string? Render(SinkDocument document, out string? missing) =>
        Render(name => name == "key" ? JsonValue.Create(document.Key) : document.Document?[name], out missing);

    /// <inheritdoc />
    public override string ToString() => Text;

    private static bool TryParse(string text, bool isKey, out KeyTemplate template, out string? error)
    {
        template = null!;
        var parts = new List<(bool, string)>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '{' or '}' && i + 1 < text.Length && text[i + 1] == c) { literal.Append(c); i++; continue; }
            if (c == '}')
            {
                error = $"'{text}' has a '}}' without its '{{' at character {i + 1}";
                return false;
            }
            if (c != '{') { literal.Append(c); continue; }
            var end = text.IndexOf('}', i + 1);
            if (end < 0 || end == i + 1)
            {
                error = end < 0 ? $"'{text}' has a '{{' that is never closed at character {i + 1}" : $"'{text}' has an empty placeholder at character {i + 1}";
                return false;
            }
            if (literal.Length > 0) parts.Add((false, literal.ToString()));
            else if (isKey && parts.Count > 0 && parts[^1].Item1)
            {
                error = $"'{text}' has two placeholders with nothing between them at character {i + 1}; separate them with a literal, or the names would be ambiguous";
                return false;
            }
            literal.Clear();
            parts.Add((true, text[(i + 1)..end].Trim()));
            i = end;
        }
        if (literal.Length > 0) parts.Add((false, literal.ToString()));
        error = null;
        template = new KeyTemplate(text, parts, isKey);
        return true;
    }

    private void Append(StringBuilder rendered, string value)
    {
        if (_escaped.Length == 0 || value.IndexOfAny(_escaped) < 0)
        {
            rendered.Append(value);
            return;
        }
        foreach (var c in value)
        {
            if (Array.IndexOf(_escaped, c) < 0)
            {
                rendered.Append(c);
                continue;
            }
            foreach (var b in Encoding.UTF8.GetBytes([c])) rendered.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}

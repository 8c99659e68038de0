using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.Projection;

/// <summary>A string with <c>{path}</c> placeholders filled from a change event (<c>"todo:{key}:{after.id}"</c>); <c>{{</c> and <c>}}</c> escape braces.</summary>
public sealed class EventTemplate
{
    private readonly IReadOnlyList<object> _parts;

    private EventTemplate(string text, IReadOnlyList<object> parts)
    {
        Text = text;
        _parts = parts;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>True when <paramref name="text"/> has at least one placeholder.</summary>
    public static bool HasPlaceholders(string text) => text.Replace("{{", "").Replace("}}", "").Contains('{');

    /// <summary>Parses a template, or says what is wrong: unbalanced braces, or a placeholder that is not an event path.</summary>
    public static bool TryParse(string text, out EventTemplate template, out string? error)
    {
        template = null!;
        var parts = new List<object>();
        var literal = new StringBuilder();
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{') { literal.Append('{'); i++; continue; }
            if (c == '}' && i + 1 < text.Length && text[i + 1] == '}') { literal.Append('}'); i++; continue; }
            if (c == '}')
            {
                error = $"'{text}' has a '}}' without its '{{' at character {i + 1}";
                return false;
            }
            if (c != '{') { literal.Append(c); continue; }

            var end = text.IndexOf('}', i + 1);
            if (end < 0)
            {
                error = $"'{text}' has a '{{' that is never closed at character {i + 1}";
                return false;
            }
            if (!EventPath.TryParse(text[(i + 1)..end].Trim(), out var path, out var pathError))
            {
                error = $"placeholder {{{text[(i + 1)..end]}}}: {pathError}";
                return false;
            }
            if (literal.Length > 0) { parts.Add(literal.ToString()); literal.Clear(); }
            parts.Add(path);
            i = end;
        }
        if (literal.Length > 0) parts.Add(literal.ToString());
        error = null;
        template = new EventTemplate(text, parts);
        return true;
    }

    /// <summary>Fills the placeholders; false (with the path) when one of them has no value in this event.</summary>
    public bool TryRender(ChangeEvent change, out string rendered, out string? missing)
    {
        var text = new StringBuilder();
        foreach (var part in _parts)
        {
            if (part is string literal) { text.Append(literal); continue; }
            var path = (EventPath)part;
            var value = path.Resolve(change);
            if (value is null)
            {
                rendered = "";
                missing = path.Text;
                return false;
            }
            text.Append(value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
        }
        rendered = text.ToString();
        missing = null;
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Text;
}

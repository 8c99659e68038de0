using System.Globalization;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Templates;

namespace Unbundled.Pipelines.Projection;

/// <summary>
/// A dotted path into a change event, shared by filters, templates and selections:
/// <c>key</c>, <c>op</c>, <c>ts_ms</c>, <c>source.table|position|version|ts_ms|name|connector|snapshot</c>,
/// <c>before.a.b</c> and <c>after.a.b</c> (array items by index).
/// </summary>
public sealed class EventPath
{
    private static readonly string[] Roots = ["key", "op", "ts_ms", "source", "before", "after"];
    private static readonly string[] SourceFields = ["connector", "name", "table", "position", "version", "ts_ms", "snapshot"];
    private readonly string[] _segments;

    private EventPath(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The path as written.</summary>
    public string Text { get; }

    /// <summary>Parses a path, or says what is wrong with it and what was probably meant.</summary>
    public static bool TryParse(string text, out EventPath path, out string? error)
    {
        path = null!;
        var segments = text.Split('.');
        var root = segments[0];
        if (segments.Any(s => s.Length == 0))
        {
            error = $"'{text}' has an empty segment";
            return false;
        }
        if (!Roots.Contains(root))
        {
            error = $"'{text}' does not start with one of {string.Join(", ", Roots)}" + Suggest(root, Roots);
            return false;
        }
        if (root is "key" or "op" or "ts_ms" && segments.Length > 1)
        {
            error = $"'{root}' has no fields, so '{text}' leads nowhere";
            return false;
        }
        if (root == "source" && (segments.Length != 2 || !SourceFields.Contains(segments[1])))
        {
            error = $"'{text}' is not a source field; use source.{string.Join(", source.", SourceFields)}"
                + (segments.Length == 2 ? Suggest(segments[1], SourceFields, "source.") : "");
            return false;
        }
        error = null;
        path = new EventPath(text, segments);
        return true;
    }

    /// <summary>
    /// Parses a template over change events (<c>"list:{after.id}"</c>, a key; <c>"{after.title} by {after.owner}"</c>,
    /// text when <paramref name="isKey"/> is false): every placeholder must be an event path.
    /// </summary>
    public static bool TryParseTemplate(string text, bool isKey, out Func<ChangeEvent, string?> render, out string? error)
    {
        render = null!;
        var parsed = isKey ? KeyTemplate.TryParse(text, out var template, out error) : KeyTemplate.TryParseText(text, out template, out error);
        if (!parsed) return false;
        var paths = new Dictionary<string, EventPath>(StringComparer.Ordinal);
        foreach (var placeholder in template.Placeholders)
        {
            if (!TryParse(placeholder, out var path, out var pathError))
            {
                error = $"placeholder {{{placeholder}}}: {pathError}";
                return false;
            }
            paths[placeholder] = path;
        }
        render = change => template.Render(name => paths[name].Resolve(change), out _);
        return true;
    }

    /// <summary>The value at this path in <paramref name="change"/>, or null when there is none.</summary>
    public JsonNode? Resolve(ChangeEvent change)
    {
        switch (_segments[0])
        {
            case "key": return JsonValue.Create(change.Key);
            case "op": return JsonValue.Create(OpCode(change.Op));
            case "ts_ms": return JsonValue.Create(change.TsMs);
            case "source": return SourceField(change.Source, _segments[1]);
        }
        var node = _segments[0] == "before" ? change.Before : change.After;
        for (var i = 1; i < _segments.Length && node is not null; i++)
        {
            node = node switch
            {
                JsonObject obj => obj[_segments[i]],
                JsonArray array => int.TryParse(_segments[i], NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < array.Count ? array[index] : null,
                _ => null,
            };
        }
        return node;
    }

    /// <inheritdoc />
    public override string ToString() => Text;

    /// <summary>The Debezium letter of an operation.</summary>
    public static string OpCode(ChangeOp op) => op switch
    {
        ChangeOp.Create => "c",
        ChangeOp.Update => "u",
        ChangeOp.Delete => "d",
        _ => "r",
    };

    private static JsonNode? SourceField(ChangeSource source, string field) => field switch
    {
        "connector" => source.Connector,
        "name" => source.Name,
        "table" => source.Table,
        "position" => source.Position,
        "version" => source.Version,
        "ts_ms" => source.TsMs,
        _ => source.Snapshot,
    };

    private static string Suggest(string written, IEnumerable<string> known, string prefix = "") =>
        EditDistance.Closest(written, known) is { } best ? $"; did you mean '{prefix}{best}'?" : "";
}

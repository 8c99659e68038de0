using System.Globalization;
using System.Reflection;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>
/// Binds the keys of a YAML mapping to the public settable properties of an options class
/// (<c>max-size</c>, <c>maxSize</c> or <c>MaxSize</c> to <c>MaxSize</c>), reporting unknown keys and
/// values of the wrong type at their positions.
/// </summary>
internal sealed class YamlOptionsBinder(YamlReading reading)
{
    /// <summary>A new <paramref name="type"/> with every key of <paramref name="mapping"/> except <paramref name="skip"/> bound to it.</summary>
    public object Bind(Type type, YamlMappingNode mapping, string where, params string[] skip)
    {
        var options = Activator.CreateInstance(type) ?? throw new InvalidOperationException($"{type} has no public parameterless constructor.");
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).ToList();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (skip.Contains(key)) continue;
            var property = properties.FirstOrDefault(p => Normalize(p.Name) == Normalize(key));
            if (property is null)
            {
                var known = properties.Select(p => Kebab(p.Name)).Concat(skip).ToArray();
                reading.Problem(keyNode, $"unknown key '{key}' in {where}", EditDistance.Closest(key, known) is { } close
                    ? $"Did you mean '{close}'?"
                    : $"Known keys: {string.Join(", ", known)}");
                continue;
            }
            if (Convert(property.PropertyType, valueNode, $"'{key}' in {where}") is { } value) property.SetValue(options, value.Value);
        }
        return options;
    }

    /// <summary>The option a connector's problem names, without an item index (<c>models[1]</c> is <c>models</c>).</summary>
    public static string OptionName(string option) => option.IndexOf('[') is > 0 and var bracket ? option[..bracket] : option;

    /// <summary>
    /// The node a connector's problem about <paramref name="option"/> points at: the option's value, the
    /// item of a list option it indexes (<c>models[1]</c>), or the whole declaration when it is not written.
    /// </summary>
    public static YamlNode NodeOf(YamlMappingNode body, string option)
    {
        var name = OptionName(option);
        var value = body.Children.FirstOrDefault(c => Normalize(((YamlScalarNode)c.Key).Value ?? "") == Normalize(name)).Value;
        if (value is null) return body;
        return value is YamlSequenceNode list && option.Length > name.Length
            && int.TryParse(option.AsSpan(name.Length + 1, option.Length - name.Length - 2), out var index) && index >= 0 && index < list.Children.Count
            ? list.Children[index]
            : value;
    }

    /// <summary>The kebab-case spelling of a property name, as pipelines.yaml writes it.</summary>
    public static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "-" : "") + char.ToLowerInvariant(c) : c.ToString()));

    private static string Normalize(string name) => name.Replace("-", "").Replace("_", "").ToLowerInvariant();

    private Boxed? Convert(Type type, YamlNode node, string what)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(List<string>) || underlying == typeof(IReadOnlyList<string>) || underlying == typeof(string[]))
        {
            var list = reading.ScalarList(node, what);
            return list is null ? null : new Boxed(underlying == typeof(string[]) ? list.ToArray() : list);
        }
        if (underlying == typeof(Dictionary<string, string>) || underlying == typeof(IReadOnlyDictionary<string, string>))
        {
            if (reading.Mapping(node, what) is not { } map) return null;
            var dictionary = new Dictionary<string, string>();
            foreach (var (k, v) in map.Children)
            {
                if (reading.Scalar(v, what) is { } value) dictionary[((YamlScalarNode)k).Value ?? ""] = value;
            }
            return new Boxed(dictionary);
        }
        if (underlying.IsClass && underlying != typeof(string))
            return reading.Mapping(node, what) is { } nested ? new Boxed(Bind(underlying, nested, what)) : null;

        if (reading.Scalar(node, what) is not { } text) return null;
        if (Nullable.GetUnderlyingType(type) is not null && text.Length == 0) return new Boxed(null);
        object? parsed = underlying switch
        {
            _ when underlying == typeof(string) => text,
            _ when underlying == typeof(bool) => bool.TryParse(text, out var b) ? b : null,
            _ when underlying == typeof(int) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
            _ when underlying == typeof(long) => long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null,
            _ when underlying == typeof(double) => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
            _ when underlying == typeof(TimeSpan) => YamlReading.TryParseDuration(text, out var t) ? t : null,
            _ when underlying.IsEnum => Enum.GetNames(underlying).FirstOrDefault(n => Normalize(n) == Normalize(text)) is { } name ? Enum.Parse(underlying, name) : null,
            _ => null,
        };
        if (parsed is not null) return new Boxed(parsed);
        reading.Problem(node, $"{what}: {Expected(underlying, text)}");
        return null;
    }

    private static string Expected(Type type, string text) => type switch
    {
        _ when type == typeof(bool) => $"'{text}' is not true or false",
        _ when type == typeof(int) || type == typeof(long) => $"'{text}' is not a whole number",
        _ when type == typeof(double) => $"'{text}' is not a number",
        _ when type == typeof(TimeSpan) => $"'{text}' is not a duration: use e.g. 500ms, 10s, 5m, 1h",
        _ when type.IsEnum => $"'{text}' is not one of {string.Join(", ", Enum.GetNames(type).Select(Kebab))}",
        _ => $"'{text}' cannot be read as {type.Name}",
    };

    private sealed record Boxed(object? Value);
}

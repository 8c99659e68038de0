using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>
/// Reads YAML nodes of one file while collecting problems with their positions: scalars with
/// environment variables substituted, mappings checked for unknown keys, typed values.
/// </summary>
internal sealed partial class YamlReading(string file, EnvironmentSubstitution environment)
{
    private readonly List<DefinitionProblem> _problems = [];

    public IReadOnlyList<DefinitionProblem> Problems => _problems;

    public SourceSpan At(YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    public void Problem(YamlNode node, string message, string? hint = null) => _problems.Add(new DefinitionProblem(At(node), message, hint));

    public void Problem(SourceSpan at, string message, string? hint = null) => _problems.Add(new DefinitionProblem(at, message, hint));

    /// <summary>The node as a mapping, or a problem naming what it should have been.</summary>
    public YamlMappingNode? Mapping(YamlNode node, string what)
    {
        if (node is YamlMappingNode mapping) return mapping;
        Problem(node, $"{what} must be a mapping of keys to values, not {Describe(node)}");
        return null;
    }

    /// <summary>The node's text with environment variables substituted, or a problem.</summary>
    public string? Scalar(YamlNode node, string what)
    {
        if (node is not YamlScalarNode scalar)
        {
            Problem(node, $"{what} must be a single value, not {Describe(node)}");
            return null;
        }
        var text = scalar.Value ?? "";
        if (environment.TrySubstitute(text, out var substituted, out var error, out var at)) return substituted;
        _problems.Add(new DefinitionProblem(new SourceSpan(file, (int)node.Start.Line, (int)node.Start.Column + QuoteWidth(scalar) + at), error!));
        return null;
    }

    /// <summary>The node's values as a list of strings, or a problem.</summary>
    public List<string>? ScalarList(YamlNode node, string what)
    {
        if (node is YamlScalarNode) return Scalar(node, what) is { } single ? [single] : null;
        if (node is not YamlSequenceNode sequence)
        {
            Problem(node, $"{what} must be a list of values, not {Describe(node)}");
            return null;
        }
        var values = new List<string>();
        foreach (var item in sequence)
        {
            if (Scalar(item, $"each item of {what}") is { } value) values.Add(value);
        }
        return values;
    }

    /// <summary>Reports every key of <paramref name="mapping"/> that is not in <paramref name="known"/>, with a hint.</summary>
    public void OnlyKeys(YamlMappingNode mapping, string where, params string[] known)
    {
        foreach (var key in mapping.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "";
            if (known.Contains(name)) continue;
            Problem(key, $"unknown key '{name}' in {where}", EditDistance.Closest(name, known) is { } close
                ? $"Did you mean '{close}'?"
                : $"Known keys: {string.Join(", ", known)}");
        }
    }

    /// <summary>The value of a key, if present.</summary>
    public static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>Parses durations such as 500ms, 10s, 5m, 1h, 2d or 00:01:30.</summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        var match = DurationPattern().Match(text.Trim());
        if (match.Success)
        {
            var amount = double.Parse(match.Groups["amount"].Value, CultureInfo.InvariantCulture);
            var milliseconds = amount * match.Groups["unit"].Value switch { "ms" => 1, "s" => 1e3, "m" => 6e4, "h" => 3.6e6, _ => 8.64e7 };
            // A duration past TimeSpan's range is not one (TimeSpan.FromX would throw).
            if (!double.IsFinite(milliseconds) || milliseconds >= TimeSpan.MaxValue.TotalMilliseconds)
            {
                duration = default;
                return false;
            }
            duration = TimeSpan.FromMilliseconds(milliseconds);
            return true;
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration);
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode scalar => $"'{scalar.Value}'",
        _ => "an alias",
    };

    private static int QuoteWidth(YamlScalarNode scalar) =>
        scalar.Style is YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted ? 1 : 0;

    [GeneratedRegex(@"^(?<amount>\d+(\.\d+)?)(?<unit>ms|s|m|h|d)$")]
    private static partial Regex DurationPattern();
}

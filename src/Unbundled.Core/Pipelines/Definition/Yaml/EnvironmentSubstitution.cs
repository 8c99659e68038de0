using System.Text;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>Replaces <c>${NAME}</c> and <c>${NAME:-default}</c> in a value with environment variables; <c>$${</c> is a literal <c>${</c>.</summary>
public sealed class EnvironmentSubstitution(Func<string, string?> lookup)
{
    /// <summary>Substitutes with the process's environment variables.</summary>
    public static EnvironmentSubstitution FromProcess() => new(Environment.GetEnvironmentVariable);

    /// <summary>The value with its variables substituted, or false with what is wrong and the 0-based character where.</summary>
    public bool TrySubstitute(string value, out string result, out string? error, out int at)
    {
        var text = new StringBuilder();
        error = null;
        at = 0;
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '$' || i + 1 >= value.Length) { text.Append(value[i]); continue; }
            if (value[i + 1] == '$' && i + 2 < value.Length && value[i + 2] == '{') { text.Append("${"); i += 2; continue; }
            if (value[i + 1] != '{') { text.Append('$'); continue; }

            var end = value.IndexOf('}', i + 2);
            if (end < 0)
            {
                (result, error, at) = ("", "'${' is never closed with '}'", i);
                return false;
            }
            var reference = value[(i + 2)..end];
            var split = reference.IndexOf(":-", StringComparison.Ordinal);
            var name = split < 0 ? reference : reference[..split];
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                (result, error, at) = ("", $"'{name}' is not an environment variable name", i);
                return false;
            }
            var found = lookup(name);
            if (found is null && split < 0)
            {
                (result, error, at) = ("", $"the environment variable {name} is not set (give a default with ${{{name}:-value}})", i);
                return false;
            }
            text.Append(found ?? reference[(split + 2)..]);
            i = end;
        }
        result = text.ToString();
        return true;
    }
}

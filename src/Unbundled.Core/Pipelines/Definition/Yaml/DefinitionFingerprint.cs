using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>Tells when a view is stale against its definition: a hash of the YAML that defines it, blind to comments, layout and key order.</summary>
internal static class DefinitionFingerprint
{
    /// <summary>A hash of the pipeline's definition and of the source and sink it uses, blind to comments and layout.</summary>
    public static string Of(params YamlNode[] nodes)
    {
        var canonical = new StringBuilder();
        foreach (var node in nodes) Canonical(node, canonical);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }

    private static void Canonical(YamlNode node, StringBuilder text)
    {
        switch (node)
        {
            case YamlMappingNode map:
                text.Append('{');
                foreach (var (key, value) in map.Children.OrderBy(c => ((YamlScalarNode)c.Key).Value, StringComparer.Ordinal))
                {
                    Canonical(key, text);
                    text.Append(':');
                    Canonical(value, text);
                    text.Append(',');
                }
                text.Append('}');
                break;
            case YamlSequenceNode list:
                text.Append('[');
                foreach (var item in list) { Canonical(item, text); text.Append(','); }
                text.Append(']');
                break;
            case YamlScalarNode scalar:
                text.Append(System.Text.Json.JsonSerializer.Serialize(scalar.Value));
                break;
        }
    }
}

using System.Reflection;
using System.Text;
using System.Text.Json;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Sdk.Connectors;

namespace Unbundled.Pipelines.Definition.Pipe;

/// <summary>
/// A pipe line written out as the pipelines.yaml declaration it means, a source, a sink and a pipeline
/// named <paramref name="Name"/>, so that it is checked and run by exactly what checks and runs the file.
/// Each line of the YAML remembers the piece of the pipe line it came from, to point problems back there.
/// </summary>
public sealed record PipeDeclaration(string Name, string Yaml, IReadOnlyDictionary<int, PipeText> Origins)
{
    /// <summary>The declaration of <paramref name="line"/> as pipeline <paramref name="name"/>, with the connectors of <paramref name="catalog"/>.</summary>
    public static PipeDeclaration Of(PipeLine line, string name, ConnectorCatalog catalog)
    {
        var yaml = new StringBuilder();
        var origins = new Dictionary<int, PipeText>();
        var lines = 0;
        void Line(string text, PipeText? from = null)
        {
            yaml.Append(text).Append('\n');
            lines++;
            if (from is { } origin) origins[lines] = origin;
        }

        Line("sources:");
        Connector(line.Source, $"{name}-source", catalog.Sources.TryGetValue(line.Source.Connector.Text, out var source) ? source : null);
        Line("sinks:");
        Connector(line.Sink, $"{name}-sink", catalog.Sinks.TryGetValue(line.Sink.Connector.Text, out var sink) ? sink : null);
        Line("pipelines:");
        Line($"  {Quote(name)}:");
        Line($"    from: {Quote(name + "-source")}", line.Source.Connector);
        if (line.Where is { } where) Line($"    where: {Quote(where.Text)}", where);
        Line("    select:");
        if (line.Key is { } key) Line($"      key: {Quote(key.Text)}", key);
        if (line.Select is not { } fields) Line("      fields: after");
        else
        {
            Line("      fields:");
            foreach (var field in fields) Line($"        {Quote(field.Name.Text)}: {Quote(field.Path.Text)}", field.Path);
        }
        Line($"    to: {Quote(name + "-sink")}", line.Sink.Connector);
        return new PipeDeclaration(name, yaml.ToString(), origins);

        void Connector(PipeConnector connector, string declared, Sdk.IConnectorFactory? factory)
        {
            Line($"  {Quote(declared)}:");
            Line($"    connector: {Quote(connector.Connector.Text)}", connector.Connector);
            if (connector.Name is { } target)
            {
                var option = factory?.PipeNameOption
                    ?? throw new PipeSyntaxException(target.Column, factory is null
                        ? $"'{connector.Connector.Text}' is not a connector here"
                        : $"connector '{connector.Connector.Text}' takes no name after ':'; give its options as ?option=value");
                Line($"    {option}: {Value(factory, option, target.Text)}", target);
            }
            foreach (var (option, value) in connector.Options) Line($"    {Quote(option.Text)}: {Value(factory, option.Text, value.Text)}", value);
        }
    }

    /// <summary>The piece of the pipe line that YAML line <paramref name="line"/> came from, if any.</summary>
    public PipeText? OriginOf(int line) => Origins.TryGetValue(line, out var origin) ? origin : null;

    // A list option takes comma-separated values; anything else one string.
    private static string Value(Sdk.IConnectorFactory? factory, string option, string text)
    {
        var property = factory?.OptionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).FirstOrDefault(p => YamlOptionsBinder.Kebab(p.Name) == option);
        var list = property?.PropertyType is { IsGenericType: true } type && type.GetGenericArguments() is [var item] && item == typeof(string) && typeof(IEnumerable<string>).IsAssignableFrom(type);
        return list ? "[" + string.Join(", ", text.Split(',', StringSplitOptions.TrimEntries).Select(Quote)) + "]" : Quote(text);
    }

    // A JSON string is a YAML double-quoted scalar.
    private static string Quote(string text) => JsonSerializer.Serialize(text);
}

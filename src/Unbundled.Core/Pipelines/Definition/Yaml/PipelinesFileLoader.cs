using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Unbundled.Pipelines.Filtering;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk;
using Unbundled.Sdk.Connectors;
using Unbundled.Sdk.Projections;
using Unbundled.Sources.CommandLog;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>
/// Reads pipelines.yaml into validated definitions before anything runs, checking it against the
/// registered connectors and projections (which check their own options), and collecting every problem
/// with its file, line and column (see docs/pipelines.md for the format).
/// </summary>
public sealed partial class PipelinesFileLoader(
    ConnectorCatalog connectors,
    IReadOnlyDictionary<string, IProjection> projections,
    EnvironmentSubstitution? environment = null)
{
    private readonly EnvironmentSubstitution _environment = environment ?? EnvironmentSubstitution.FromProcess();

    /// <summary>Loads and validates a file.</summary>
    public PipelinesLoadResult Load(string path)
    {
        if (!File.Exists(path))
            return new PipelinesLoadResult(null, [new DefinitionProblem(new SourceSpan(path, 1, 1), $"the file {Path.GetFullPath(path)} does not exist")]);
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>
    /// The keys of <paramref name="root"/>'s mappings that are lists or mappings. Each node is visited once: an alias is the
    /// node it names, so a walk by AllNodes expanded an alias bomb's 10^30 nodes.
    /// </summary>
    private static IEnumerable<YamlNode> ComplexKeys(YamlNode root)
    {
        var seen = new HashSet<YamlNode>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<YamlNode>([root]);
        while (pending.TryPop(out var node))
        {
            if (!seen.Add(node)) continue;
            if (node is YamlSequenceNode sequence)
            {
                foreach (var item in sequence.Children) pending.Push(item);
                continue;
            }
            if (node is not YamlMappingNode map) continue;
            foreach (var (key, value) in map.Children)
            {
                if (key is not YamlScalarNode) yield return key;
                pending.Push(value);
            }
        }
    }

    /// <summary>Validates YAML text as if it were the file <paramref name="file"/>.</summary>
    public PipelinesLoadResult Parse(string text, string file)
    {
        if (YamlShapeGuard.Check(text) is { } shape)
            return new PipelinesLoadResult(null, [new DefinitionProblem(new SourceSpan(file, shape.Line, shape.Column), shape.Message)]);
        var yaml = new YamlStream();
        try
        {
            yaml.Load(new StringReader(text));
        }
        catch (YamlException error)
        {
            return new PipelinesLoadResult(null, [new DefinitionProblem(new SourceSpan(file, (int)error.Start.Line, (int)error.Start.Column), YamlMessage(error))]);
        }
        catch (InvalidOperationException error)
        {
            // YamlDotNet's scanner gives up this way on some unterminated flow collections, with no position.
            return new PipelinesLoadResult(null, [new DefinitionProblem(new SourceSpan(file, 1, 1),
                $"the file is not valid YAML ({error.Message}); look for an unclosed '[' or '{{'")]);
        }

        var reading = new YamlReading(file, _environment);
        if (yaml.Documents.Count > 1)
            return new PipelinesLoadResult(null, [new DefinitionProblem(reading.At(yaml.Documents[1].RootNode),
                "the file holds several YAML documents ('---'); pipelines.yaml is one document")]);
        if (yaml.Documents.Count == 0 || yaml.Documents[0].RootNode is not YamlMappingNode root)
        {
            var at = yaml.Documents.Count == 0 ? new SourceSpan(file, 1, 1) : reading.At(yaml.Documents[0].RootNode);
            return new PipelinesLoadResult(null, [new DefinitionProblem(at, "pipelines.yaml must be a mapping with the keys sources, sinks and pipelines")]);
        }
        // A key that is a list or a mapping ('? [a]') names nothing: refused here, once, so that every reader below may take
        // keys as plain names (their casts threw InvalidCastException past the verbs' handling).
        var complex = ComplexKeys(root).ToList();
        if (complex.Count > 0)
            return new PipelinesLoadResult(null, [.. complex.Select(key => new DefinitionProblem(reading.At(key), "a key must be a plain name, not a list or a mapping"))]);
        reading.OnlyKeys(root, "the top level", "sources", "sinks", "pipelines");

        var sourceNodes = new Dictionary<string, YamlNode>();
        var sinkNodes = new Dictionary<string, YamlNode>();
        var sources = ReadSection(reading, root, "sources", "source", sourceNodes, ReadSource);
        var sinks = ReadSection(reading, root, "sinks", "sink", sinkNodes, ReadSink);
        var pipelines = new List<PipelineDefinition>();
        var switchedOff = new List<string>();
        if (YamlReading.Child(root, "pipelines") is not { } pipelinesNode)
        {
            reading.Problem(root, "there is no 'pipelines' section: declare at least one pipeline");
        }
        else if (reading.Mapping(pipelinesNode, "'pipelines'") is { } pipelinesMap)
        {
            if (pipelinesMap.Children.Count == 0) reading.Problem(pipelinesMap, "the 'pipelines' section is empty: declare at least one pipeline");
            foreach (var (key, value) in pipelinesMap.Children)
            {
                if (ReadPipeline(reading, key, value, sources, sinks, sourceNodes, sinkNodes, switchedOff) is { } pipeline) pipelines.Add(pipeline);
            }
        }

        return reading.Problems.Count > 0
            ? new PipelinesLoadResult(null, reading.Problems)
            : new PipelinesLoadResult(new PipelinesDocument(file, sources, sinks, pipelines) { SwitchedOff = switchedOff }, []);
    }

    private static Dictionary<string, T> ReadSection<T>(YamlReading reading, YamlMappingNode root, string section, string what,
        Dictionary<string, YamlNode> nodes, Func<YamlReading, string, YamlMappingNode, T?> read) where T : class
    {
        var definitions = new Dictionary<string, T>(StringComparer.Ordinal);
        if (YamlReading.Child(root, section) is not { } node || reading.Mapping(node, $"'{section}'") is not { } map) return definitions;
        foreach (var (key, value) in map.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (!ValidName().IsMatch(name))
            {
                reading.Problem(key, $"'{name}' is not a valid {what} name: use lowercase letters, digits, '-' and '_'");
                continue;
            }
            nodes[name] = value;
            if (reading.Mapping(value, $"{what} '{name}'") is { } body && read(reading, name, body) is { } definition) definitions[name] = definition;
        }
        return definitions;
    }

    private SourceDefinition? ReadSource(YamlReading reading, string name, YamlMappingNode body) =>
        // A source that names no connector reads the command log, as every source did before sources were plug-ins.
        ReadConnector(reading, "source", name, body, connectors.Sources, CommandLogSourceFactory.ConnectorName) is var (factory, options, at)
            ? new SourceDefinition(name, factory, options, at)
            : null;

    private SinkDefinition? ReadSink(YamlReading reading, string name, YamlMappingNode body) =>
        ReadConnector(reading, "sink", name, body, connectors.Sinks, defaultConnector: null) is var (factory, options, at)
            ? new SinkDefinition(name, factory, options, at)
            : null;

    /// <summary>The connector a source or sink names, and its options bound and checked by the connector itself.</summary>
    private static (T Factory, object Options, SourceSpan At)? ReadConnector<T>(YamlReading reading, string what, string name, YamlMappingNode body,
        IReadOnlyDictionary<string, T> known, string? defaultConnector) where T : IConnectorFactory
    {
        string connectorName;
        YamlNode connectorAt = body;
        if (YamlReading.Child(body, "connector") is { } connectorNode)
        {
            if (reading.Scalar(connectorNode, $"'connector' of {what} '{name}'") is not { } written) return null;
            (connectorName, connectorAt) = (written, connectorNode);
        }
        else if (defaultConnector is not null)
        {
            connectorName = defaultConnector;
        }
        else
        {
            reading.Problem(body, $"{what} '{name}' has no 'connector'", $"Registered connectors: {string.Join(", ", known.Keys.Order())}");
            return null;
        }
        if (!known.TryGetValue(connectorName, out var connector))
        {
            reading.Problem(connectorAt, $"{what} '{name}' uses the connector '{connectorName}', which is not registered", Known(connectorName, known.Keys));
            return null;
        }
        var before = reading.Problems.Count;
        var options = new YamlOptionsBinder(reading).Bind(connector.OptionsType, body, $"{what} '{name}'", "connector");
        foreach (var (option, message) in connector.Validate(options))
            reading.Problem(YamlOptionsBinder.NodeOf(body, option), $"'{YamlOptionsBinder.OptionName(option)}' of {what} '{name}': {message}");
        return reading.Problems.Count == before ? (connector, options, reading.At(body)) : null;
    }

    private PipelineDefinition? ReadPipeline(YamlReading reading, YamlNode key, YamlNode value,
        IReadOnlyDictionary<string, SourceDefinition> sources, IReadOnlyDictionary<string, SinkDefinition> sinks,
        Dictionary<string, YamlNode> sourceNodes, Dictionary<string, YamlNode> sinkNodes, List<string> switchedOff)
    {
        var name = ((YamlScalarNode)key).Value ?? "";
        if (!ValidName().IsMatch(name))
        {
            reading.Problem(key, $"'{name}' is not a valid pipeline name: use lowercase letters, digits, '-' and '_', starting with a letter or digit");
            return null;
        }
        if (reading.Mapping(value, $"pipeline '{name}'") is not { } body) return null;
        var where = $"pipeline '{name}'";
        reading.OnlyKeys(body, where, "from", "where", "projection", "select", "aggregate", "join", "to", "on-error", "batch", "owner", "enabled");
        var before = reading.Problems.Count;

        var source = Reference(reading, body, "from", where, sources, sourceNodes.Keys, "source");
        var sink = Reference(reading, body, "to", where, sinks, sinkNodes.Keys, "sink");
        var filter = YamlReading.Child(body, "where") is { } whereNode ? ReadFilter(reading, whereNode, where) : null;
        var projection = ReadProjection(reading, body, where);
        var aggregate = YamlReading.Child(body, "aggregate") is { } aggregateNode ? AggregateReader.Read(reading, aggregateNode, where) : null;
        var join = YamlReading.Child(body, "join") is { } joinNode ? JoinReader.Read(reading, joinNode, where) : null;
        if (YamlReading.Child(body, "join") is { } both && YamlReading.Child(body, "aggregate") is not null)
            reading.Problem(both, $"{where} has both 'aggregate' and 'join'; a pipeline either groups its documents or embeds rows in them");
        var onError = ErrorPolicy.DeadLetter;
        if (YamlReading.Child(body, "on-error") is { } onErrorNode && reading.Scalar(onErrorNode, $"'on-error' of {where}") is { } policy)
        {
            switch (policy)
            {
                case "dead-letter": onError = ErrorPolicy.DeadLetter; break;
                case "stop": onError = ErrorPolicy.Stop; break;
                default: reading.Problem(onErrorNode, $"'on-error' of {where} is '{policy}'; it must be dead-letter or stop"); break;
            }
        }
        var batch = YamlReading.Child(body, "batch") is { } batchNode ? ReadBatch(reading, batchNode, where) : new BatchOptions();
        string? owner = null;
        if (YamlReading.Child(body, "owner") is { } ownerNode && reading.Scalar(ownerNode, $"'owner' of {where}") is { } field)
        {
            if (OwnerField().IsMatch(field)) owner = field;
            else reading.Problem(ownerNode, $"'owner' of {where} is '{field}'; it must name a top-level field of the view's documents (letters, digits, '_' and '-')");
        }

        var enabled = true;
        if (YamlReading.Child(body, "enabled") is { } enabledNode && reading.Scalar(enabledNode, $"'enabled' of {where}") is { } switched)
        {
            if (bool.TryParse(switched, out var parsed)) enabled = parsed;
            else reading.Problem(enabledNode, $"'enabled' of {where} is '{switched}'; it must be true or false");
        }

        if (reading.Problems.Count > before || source is null || sink is null || projection is null) return null;
        // Checked like any other, so that turning it on (often by an environment variable) cannot bring a mistake to light.
        if (!enabled)
        {
            switchedOff.Add(name);
            return null;
        }
        var fingerprint = DefinitionFingerprint.Of(value, sourceNodes[source.Name], sinkNodes[sink.Name]);
        return new PipelineDefinition(name, source, filter, projection, sink, onError, batch, fingerprint, reading.At(body), owner, aggregate, join);
    }

    private static T? Reference<T>(YamlReading reading, YamlMappingNode body, string key, string where, IReadOnlyDictionary<string, T> known,
        IEnumerable<string> declared, string what) where T : class
    {
        if (YamlReading.Child(body, key) is not { } node)
        {
            reading.Problem(body, $"{where} has no '{key}': name the {what} it {(key == "from" ? "reads" : "writes to")}",
                known.Count > 0 ? $"Declared {what}s: {string.Join(", ", known.Keys.Order())}" : null);
            return null;
        }
        if (reading.Scalar(node, $"'{key}' of {where}") is not { } name) return null;
        if (known.TryGetValue(name, out var found)) return found;
        // A declared but invalid source or sink has had its own problems reported already.
        if (!declared.Contains(name)) reading.Problem(node, $"{where} names the {what} '{name}', which is not declared in '{what}s'", Known(name, declared));
        return null;
    }

    private static FilterExpression? ReadFilter(YamlReading reading, YamlNode node, string where)
    {
        if (reading.Scalar(node, $"'where' of {where}") is not { } text) return null;
        try
        {
            return FilterCompiler.Compile(text);
        }
        catch (FilterSyntaxException error)
        {
            var quoted = node is YamlScalarNode { Style: ScalarStyle.DoubleQuoted or ScalarStyle.SingleQuoted } ? 1 : 0;
            var at = reading.At(node);
            reading.Problem(at with { Column = at.Column + quoted + error.Column - 1 }, $"'where' of {where}: {error.Message}");
            return null;
        }
    }

    private ProjectionDefinition? ReadProjection(YamlReading reading, YamlMappingNode body, string where)
    {
        var named = YamlReading.Child(body, "projection");
        var select = YamlReading.Child(body, "select");
        if (named is not null && select is not null)
        {
            reading.Problem(select, $"{where} has both 'projection' and 'select'; keep one");
            return null;
        }
        // `mysql | elasticsearch` needs no glue: without either, the document is the row (Kafka Connect's sinks write it so).
        if (named is null && select is null) return SelectReader.WholeRow;
        if (named is not null)
        {
            if (reading.Scalar(named, $"'projection' of {where}") is not { } name) return null;
            if (projections.ContainsKey(name)) return new NamedProjection(name);
            reading.Problem(named, $"{where} names the projection '{name}', which is not registered", Known(name, projections.Keys));
            return null;
        }
        return SelectReader.Read(reading, select!, where);
    }

    private static BatchOptions ReadBatch(YamlReading reading, YamlNode node, string where)
    {
        var defaults = new BatchOptions();
        if (reading.Mapping(node, $"'batch' of {where}") is not { } batch) return defaults;
        reading.OnlyKeys(batch, $"'batch' of {where}", "max-size", "max-delay");
        var maxSize = defaults.MaxSize;
        if (YamlReading.Child(batch, "max-size") is { } sizeNode && reading.Scalar(sizeNode, "'max-size'") is { } size)
        {
            if (!int.TryParse(size, out maxSize) || maxSize < 1 || maxSize > 100_000)
                reading.Problem(sizeNode, $"'max-size' of {where} is '{size}'; it must be a whole number from 1 to 100000");
        }
        var maxDelay = defaults.MaxDelay;
        if (YamlReading.Child(batch, "max-delay") is { } delayNode && reading.Scalar(delayNode, "'max-delay'") is { } delay)
        {
            if (!YamlReading.TryParseDuration(delay, out maxDelay) || maxDelay < TimeSpan.Zero)
                reading.Problem(delayNode, $"'max-delay' of {where}: '{delay}' is not a duration: use e.g. 500ms, 10s, 5m, 1h");
        }
        return new BatchOptions(maxSize, maxDelay);
    }

    private static string? Known(string written, IEnumerable<string> known)
    {
        var names = known.Order().ToList();
        if (EditDistance.Closest(written, names) is { } close) return $"Did you mean '{close}'?";
        return names.Count > 0 ? $"Known: {string.Join(", ", names)}" : "None is registered";
    }

    private static string YamlMessage(YamlException error)
    {
        var message = MarkPrefix().Replace(error.InnerException is YamlException inner ? inner.Message : error.Message, "").Trim();
        return message.StartsWith("Duplicate key ", StringComparison.Ordinal)
            ? $"'{message["Duplicate key ".Length..]}' appears twice in the same mapping; each name may appear once"
            : message;
    }

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\):\s*")]
    private static partial Regex MarkPrefix();

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*$")]
    private static partial Regex ValidName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
    private static partial Regex OwnerField();
}

using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Sources;

namespace Unbundled.Pipelines.Definition;

/// <summary>Where a definition stands in pipelines.yaml, for messages that point at it.</summary>
/// <param name="File">The file's path as given.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
public readonly record struct SourceSpan(string File, int Line, int Column)
{
    /// <inheritdoc />
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>The whole of a validated pipelines.yaml.</summary>
public sealed record PipelinesDocument(
    string File,
    IReadOnlyDictionary<string, SourceDefinition> Sources,
    IReadOnlyDictionary<string, SinkDefinition> Sinks,
    IReadOnlyList<PipelineDefinition> Pipelines)
{
    /// <summary>Pipelines declared with <c>enabled: false</c>: checked, not run.</summary>
    public IReadOnlyList<string> SwitchedOff { get; init; } = [];
}

/// <summary>A named source: a registered source connector (the command log unless it names another) and its options, bound and validated.</summary>
/// <param name="Name">Its name in the file.</param>
/// <param name="Connector">The connector factory it names.</param>
/// <param name="Options">The connector's options object (of <see cref="Unbundled.Sdk.IConnectorFactory.OptionsType"/>).</param>
/// <param name="At">Where it is declared.</param>
public sealed record SourceDefinition(string Name, ISourceConnectorFactory Connector, object Options, SourceSpan At);

/// <summary>A named sink: a registered connector and its options, bound and validated.</summary>
/// <param name="Name">Its name in the file.</param>
/// <param name="Connector">The connector factory it names.</param>
/// <param name="Options">The connector's options object (of <see cref="ISinkConnectorFactory.OptionsType"/>).</param>
/// <param name="At">Where it is declared.</param>
public sealed record SinkDefinition(string Name, ISinkConnectorFactory Connector, object Options, SourceSpan At);

/// <summary>One declared view: source, filter, projection, sink and how it behaves.</summary>
/// <param name="Name">Unique name; it names the offset, dead letters and metrics.</param>
/// <param name="Source">The source it reads.</param>
/// <param name="Where">Events to keep (null: all).</param>
/// <param name="Projection">How documents are derived.</param>
/// <param name="Sink">Where they go.</param>
/// <param name="OnError">What a poison event does.</param>
/// <param name="Batch">Batching limits.</param>
/// <param name="Fingerprint">A hash of everything above as written, to tell when a view is stale against its definition.</param>
/// <param name="At">Where it is declared.</param>
/// <param name="Owner">The field of the view's documents that names their owner or tenant; every read path filters on it.</param>
/// <param name="Aggregate">When set, the projection's documents are members of groups, and the view holds one document per group.</param>
/// <param name="Join">When set, each document embeds the row of another table of the source that its key template names.</param>
public sealed record PipelineDefinition(
    string Name,
    SourceDefinition Source,
    FilterExpression? Where,
    ProjectionDefinition Projection,
    SinkDefinition Sink,
    ErrorPolicy OnError,
    BatchOptions Batch,
    string Fingerprint,
    SourceSpan At,
    string? Owner = null,
    Aggregation.AggregateDefinition? Aggregate = null,
    Joins.JoinDefinition? Join = null);

/// <summary>What a worker does with an event its projection or sink refuses for good.</summary>
public enum ErrorPolicy
{
    /// <summary>Store it in the dead-letter store with the reason and go on.</summary>
    DeadLetter,

    /// <summary>Store it in the dead-letter store and stop the pipeline (others keep running).</summary>
    Stop,
}

/// <summary>How many events a worker writes at once, and how long it may wait to fill a batch.</summary>
/// <param name="MaxSize">Most events in one sink batch.</param>
/// <param name="MaxDelay">Longest wait for more events once some are at hand (zero: write what is there at once).</param>
public sealed record BatchOptions(int MaxSize = 1000, TimeSpan MaxDelay = default);

/// <summary>How a pipeline derives documents: a named C# projection, or a declarative selection.</summary>
public abstract record ProjectionDefinition;

/// <summary>A projection class registered by name (<c>projection: NAME</c>).</summary>
public sealed record NamedProjection(string Name) : ProjectionDefinition;

/// <summary>
/// A declarative projection (<c>select:</c>): one document per model, its key from a template, its
/// fields each a path into the event (<c>after.title</c>, <c>source.version</c>), a template
/// (<c>"{after.title} by {after.owner}"</c>) or a literal.
/// </summary>
/// <param name="KeyTemplate">The document key, e.g. <c>"{key}"</c> or <c>"list:{after.id}"</c>.</param>
/// <param name="Fields">Output field name to how it is computed, in order.</param>
public sealed record SelectProjection(string KeyTemplate, IReadOnlyList<SelectField> Fields) : ProjectionDefinition;

/// <summary>One output field of a <see cref="SelectProjection"/>.</summary>
/// <param name="Name">The output field name.</param>
/// <param name="Value">How its value is computed.</param>
public sealed record SelectField(string Name, FieldValue Value);

/// <summary>How one selected field's value is computed.</summary>
public abstract record FieldValue;

/// <summary>The value at a dotted path of the event (<c>after.todos</c>, <c>source.ts_ms</c>, <c>key</c>, <c>op</c>).</summary>
public sealed record PathValue(string Path) : FieldValue;

/// <summary>A string built from a template with <c>{path}</c> placeholders.</summary>
public sealed record TemplateValue(string Template) : FieldValue;

/// <summary>A constant.</summary>
public sealed record LiteralValue(System.Text.Json.Nodes.JsonNode? Value) : FieldValue;

/// <summary>A parsed <c>where:</c> expression (comparisons of event paths with literals, joined by and/or/not).</summary>
/// <param name="Text">The expression as written.</param>
/// <param name="Evaluate">Decides whether an event passes.</param>
public sealed record FilterExpression(string Text, Func<Unbundled.Sdk.Events.ChangeEvent, bool> Evaluate);

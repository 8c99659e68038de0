using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Projection;

/// <summary>
/// Runs a declarative <c>select:</c>: one document per model, its key from the key template and its
/// fields from paths, templates and literals (a <c>"*"</c> field spreads an object's members). A delete is projected from the document as it was
/// before, so that key templates over its fields still resolve.
/// </summary>
public sealed class SelectProjector(SelectProjection selection) : IProjection
{
    /// <summary>A field of this name copies the members of its value, an object, into the document (<c>"*": after</c>: the whole row).</summary>
    public const string Spread = "*";

    private readonly Func<ChangeEvent, string?> _key = Parse(selection.KeyTemplate, isKey: true);
    private readonly IReadOnlyList<(string Name, Func<ChangeEvent, JsonNode?> Value)> _fields = selection.Fields.Select(Compile).ToList();

    /// <inheritdoc />
    public string Name => "select";

    /// <inheritdoc />
    public IEnumerable<SinkDocument> Project(ChangeEvent change)
    {
        var deleted = change.Op == ChangeOp.Delete;
        var subject = deleted ? change with { After = change.Before } : change;
        var key = _key(subject)
            ?? throw new InvalidOperationException($"the key template '{selection.KeyTemplate}' needs a value this event does not have (a placeholder is absent, null, an object or an array)");

        var document = new JsonObject();
        foreach (var (name, value) in _fields)
        {
            if (name != Spread) document[name] = value(subject)?.DeepClone();
            else if (value(subject) is JsonObject members)
                foreach (var (member, memberValue) in members) document[member] = memberValue?.DeepClone();
        }
        yield return deleted
            // A delete whose before image the origin did not send (PostgreSQL under REPLICA IDENTITY DEFAULT) has no last
            // form to give, rather than an empty one: a joining view then keeps the one it holds for the sink's key template.
            ? SinkDocument.Delete(key, change.Source.Version, change.Source.Position, change.Before is null ? null : document)
            : SinkDocument.Upsert(key, change.Source.Version, change.Source.Position, document);
    }

    private static (string, Func<ChangeEvent, JsonNode?>) Compile(SelectField field) => field.Value switch
    {
        PathValue path => (field.Name, EventPath.TryParse(path.Path, out var parsed, out var error) ? parsed.Resolve : throw new ArgumentException(error)),
        TemplateValue template => (field.Name, Text(Parse(template.Template, isKey: false))),
        LiteralValue literal => (field.Name, _ => literal.Value),
        _ => throw new ArgumentException($"field '{field.Name}' has no value"),
    };

    private static Func<ChangeEvent, JsonNode?> Text(Func<ChangeEvent, string?> render) =>
        change => render(change) is { } text ? JsonValue.Create(text) : null;

    private static Func<ChangeEvent, string?> Parse(string template, bool isKey) =>
        EventPath.TryParseTemplate(template, isKey, out var render, out var error) ? render : throw new ArgumentException(error);
}

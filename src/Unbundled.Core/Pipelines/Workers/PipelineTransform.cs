using Unbundled.Log;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Workers;

/// <summary>
/// What a pipeline makes of one change: whether its source reads the entry, whether the filter
/// admits the model, and the documents its projection derives. The worker applies it to write the
/// view; a push feed applies it again to serve a subscriber's catch-up from the log.
/// </summary>
public sealed class PipelineTransform(PipelineDefinition definition, IProjection projection)
{
    private readonly HashSet<string> _models = definition.Source.Models.ToHashSet(StringComparer.Ordinal);

    /// <summary>The pipeline this transform belongs to.</summary>
    public PipelineDefinition Definition { get; } = definition;

    /// <summary>True when the pipeline's source reads entries of this model type.</summary>
    public bool Reads(LogEntry entry) => _models.Count == 0 || _models.Contains(entry.Model.Type);

    /// <summary>
    /// The filter decides which models belong to the view. A model that matched before the change and
    /// no longer does must leave the view, so the change is projected as its deletion; null when the
    /// change does not concern the view.
    /// </summary>
    public ChangeEvent? Admit(ChangeEvent change)
    {
        if (Definition.Where is not { } where || where.Evaluate(change)) return change;
        var matchedBefore = change.Before is not null && where.Evaluate(change with { After = change.Before });
        return matchedBefore ? change with { Op = ChangeOp.Delete, After = null } : null;
    }

    /// <summary>The documents an admitted change writes or deletes.</summary>
    public IEnumerable<SinkDocument> Project(ChangeEvent admitted) => projection.Project(admitted);
}

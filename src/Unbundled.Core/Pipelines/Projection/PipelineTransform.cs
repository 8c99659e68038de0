using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Projections;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Projection;

/// <summary>
/// What a pipeline makes of one change event: whether the filter admits it, and the documents its
/// projection derives. The worker applies it to write the view; a replay applies it again (a push
/// feed's catch-up) without touching the view.
/// </summary>
public sealed class PipelineTransform(PipelineDefinition definition, IProjection projection)
{
    /// <summary>The pipeline this transform belongs to.</summary>
    public PipelineDefinition Definition { get; } = definition;

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

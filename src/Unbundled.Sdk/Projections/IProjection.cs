using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Sdk.Projections;

/// <summary>
/// Application logic that derives view documents from one change event: pure, no I/O. It may fan a
/// model out into several documents, or into none, and must emit deletes (null documents) for what
/// the change removed, which it can tell by comparing <see cref="ChangeEvent.Before"/> and
/// <see cref="ChangeEvent.After"/>. Named in pipelines.yaml as <c>projection: NAME</c>.
/// </summary>
public interface IProjection
{
    /// <summary>The name pipelines.yaml uses.</summary>
    string Name { get; }

    /// <summary>The documents this change writes or deletes; each carries the event's version and position.</summary>
    IEnumerable<SinkDocument> Project(ChangeEvent change);

    /// <summary>
    /// True (the default): the engine also projects the state before the change and writes only the
    /// documents that differ, plus deletes for those that disappeared, so a change costs what it
    /// changed and not the size of the model. False: every document projected is written.
    /// </summary>
    bool WritesOnlyChanges => true;

    /// <summary>
    /// The model's array whose items each derive their own documents (<c>todos</c>: a document per todo), or null
    /// (the default). Declaring it promises that an item's documents depend only on that item and on the model's
    /// fields outside the array, and that no two items derive documents of the same key (unique ids); the engine
    /// then projects a change below one item (<c>/todos/[id=t5]/done</c>) over that item alone, before and after,
    /// instead of over the whole model twice. A broken promise leaves a view a rebuild would not make.
    /// </summary>
    string? ItemsField => null;
}

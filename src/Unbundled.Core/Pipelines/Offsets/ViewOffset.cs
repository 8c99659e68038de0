using Unbundled.Pipelines.State;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Offsets;

/// <summary>
/// The source offset one generation of a view has reached, and where it is kept: by the sink, atomically
/// with each batch's writes (<see cref="ISinkConnector.KeepsOffset"/>), or by the engine's state store
/// right after the sink acknowledged the batch, under the lease's fencing token.
/// </summary>
internal sealed class ViewOffset(ISinkConnector sink, IPipelineStateStore state, string name, long fence)
{
    /// <summary>The name the offset of <paramref name="pipeline"/>'s <paramref name="generation"/> is stored under.</summary>
    public static string NameOf(string pipeline, int generation) => generation == 0 ? pipeline : $"{pipeline}#generation-{generation}";

    /// <summary>The offset reached: everything up to it is in the view.</summary>
    public long Value { get; private set; }

    /// <summary>Reads the kept offset; call once the sink is connected.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (sink.KeepsOffset)
        {
            Value = await sink.LoadOffsetAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        Value = await state.LoadOffsetAsync(name, cancellationToken).ConfigureAwait(false);
        // Claimed under this lease's token at once (the position unchanged): a former owner's next offset is refused even
        // before this one has written a batch.
        if (fence > 0) await state.StoreOffsetAsync(name, Value, fence, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves to <paramref name="offset"/> after the sink acknowledged a batch reaching it (a sink keeping the offset already wrote it).</summary>
    public async Task AdvanceAsync(long offset, CancellationToken cancellationToken)
    {
        if (!sink.KeepsOffset) await state.StoreOffsetAsync(name, offset, fence, cancellationToken).ConfigureAwait(false);
        Value = offset;
    }

    /// <summary>Goes back to <paramref name="held"/>, what the sink's store really holds after it lost data, so the source is read again from there.</summary>
    public async Task RewindAsync(long held, CancellationToken cancellationToken)
    {
        Value = Math.Min(Value, held);
        // Stored back, not only held here: a restart during the repair must read the source again from there too.
        if (!sink.KeepsOffset) await state.RewindOffsetAsync(name, Value, fence, cancellationToken).ConfigureAwait(false);
    }
}

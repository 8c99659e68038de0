namespace Unbundled.Pipelines.Leases;

/// <summary>
/// One owner per pipeline across server instances: a pipeline that must not run twice at once (it reads
/// the command log or a replication slot, or writes a topic) runs only on the instance holding its lease,
/// and another instance takes over when that one dies. Without a registration (the embedded SQLite
/// log, one process) every pipeline simply runs.
/// </summary>
public interface IPipelineLeases
{
    /// <summary>This instance's name, as status shows it.</summary>
    string Instance { get; }

    /// <summary>
    /// Waits until this instance holds <paramref name="pipeline"/>'s lease, telling <paramref name="waiting"/>
    /// which instance holds it meanwhile (null when unknown).
    /// </summary>
    Task<IPipelineLease> AcquireAsync(string pipeline, Action<string?> waiting, CancellationToken cancellationToken);
}

/// <summary>A held lease; disposing it releases the pipeline to other instances.</summary>
public interface IPipelineLease : IAsyncDisposable
{
    /// <summary>Fires when the lease was lost (the database connection holding it broke): the pipeline must stop at once.</summary>
    CancellationToken Lost { get; }

    /// <summary>
    /// The fencing token: it grows with every acquisition of this pipeline's lease, and every write goes
    /// out with it, so a store refuses an owner that lost the lease without noticing (a long pause, a
    /// partition) once its successor wrote.
    /// </summary>
    long Fence { get; }
}

namespace Unbundled.Sdk;

/// <summary>
/// What sink and source connector factories share: the name pipelines.yaml uses, the options class a
/// declaration's keys bind to, and the check of bound options that <c>unbundled validate</c> reports.
/// </summary>
public interface IConnectorFactory
{
    /// <summary>The name pipelines.yaml uses (<c>connector: NAME</c>).</summary>
    string Name { get; }

    /// <summary>The options class a declaration's keys bind to (public settable properties; kebab-case keys).</summary>
    Type OptionsType { get; }

    /// <summary>
    /// Checks bound options, returning each problem as (option name, message); empty when valid. An option
    /// name may index into a list option (<c>models[1]</c>) so the message points at that item.
    /// </summary>
    IEnumerable<(string Option, string Message)> Validate(object options);

    /// <summary>
    /// The option that the name after the colon sets in the one-line pipe form (<c>postgres:orders</c> sets
    /// <c>tables</c>); null when the connector takes no name there, only <c>?option=value</c> pairs.
    /// </summary>
    string? PipeNameOption => null;

    /// <summary>
    /// True when every server instance runs its own copy of a pipeline using this connector: a push feed
    /// serving the clients connected to that instance, a consumer group that shares partitions among its
    /// members. Other pipelines run on one instance at a time, which holds the pipeline's lease.
    /// </summary>
    bool RunsOnEveryInstance => false;
}

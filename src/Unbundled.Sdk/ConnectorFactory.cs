namespace Unbundled.Sdk;

/// <summary>What typed sink and source factories share: options of <typeparamref name="TOptions"/>, and their check.</summary>
public abstract class ConnectorFactory<TOptions> : IConnectorFactory where TOptions : class, new()
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public Type OptionsType => typeof(TOptions);

    /// <inheritdoc />
    public IEnumerable<(string Option, string Message)> Validate(object options) => Validate((TOptions)options);

    /// <inheritdoc />
    public virtual string? PipeNameOption => null;

    /// <inheritdoc />
    public virtual bool RunsOnEveryInstance => false;

    /// <summary>Checks the options; the default accepts anything that bound.</summary>
    protected virtual IEnumerable<(string Option, string Message)> Validate(TOptions options) => [];
}

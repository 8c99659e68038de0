namespace Unbundled.Server.Security;

/// <summary>What a caller asks to do.</summary>
public enum AccessAction
{
    /// <summary>Read a model's state or commands.</summary>
    ReadModel,

    /// <summary>Flush commands to a model.</summary>
    Write,

    /// <summary>Read a view's document.</summary>
    ReadView,

    /// <summary>Search a view.</summary>
    Search,

    /// <summary>Follow a push feed.</summary>
    Feed,

    /// <summary>Status, dead letters, rebuilds.</summary>
    Admin,
}

/// <summary>One question to the policy: may this caller do this to this model type, pipeline or channel?</summary>
/// <param name="Action">The action.</param>
/// <param name="ModelType">The model type, for model actions.</param>
/// <param name="Pipeline">The pipeline, for view, search, feed and admin actions.</param>
/// <param name="Channel">The channel, for feeds.</param>
public sealed record AccessRequest(AccessAction Action, string? ModelType = null, string? Pipeline = null, string? Channel = null);

/// <summary>
/// The one place that answers "may this caller do this?" for every endpoint. Register your own as a
/// singleton to replace the role-based default. Which documents a caller sees is decided apart, by
/// tenant, on every read path.
/// </summary>
public interface IAccessPolicy
{
    /// <summary>Whether an authenticated caller may do what it asks.</summary>
    bool Allows(Caller caller, AccessRequest request);
}

/// <summary>The default policy: <c>reader</c> reads models, views, search and feeds; <c>writer</c> also flushes; <c>admin</c> does everything.</summary>
public sealed class RoleAccessPolicy : IAccessPolicy
{
    /// <inheritdoc />
    public bool Allows(Caller caller, AccessRequest request) => request.Action switch
    {
        AccessAction.Admin => caller.HasRole(UnbundledClaims.Admin),
        AccessAction.Write => caller.HasRole(UnbundledClaims.Writer),
        _ => caller.HasRole(UnbundledClaims.Reader) || caller.HasRole(UnbundledClaims.Writer),
    };
}

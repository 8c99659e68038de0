using System.Text.Json.Nodes;
using Unbundled.Log;
using Unbundled.Model;

namespace Unbundled.Master;

/// <summary>A model's document at its current version, as rebuilt from the log.</summary>
/// <param name="Version">The version.</param>
/// <param name="LastPosition">The log position of the model's newest entry (0: none).</param>
/// <param name="Document">The document (null: the model does not exist).</param>
public sealed record ModelState(long Version, long LastPosition, JsonNode? Document)
{
    /// <summary>
    /// An upper bound of the document's size as JSON, kept by the master so a flush need not write the
    /// whole document out to check it; null until first measured.
    /// </summary>
    public long? MaxBytes { get; init; }
}

/// <summary>Rebuilds a model's state from its newest snapshot and the log entries after it.</summary>
internal static class ModelLoader
{
    public static async Task<ModelState> LoadAsync(ICommandLog log, ModelKey model, CancellationToken cancellationToken)
    {
        var stored = await log.ReadModelAsync(model, cancellationToken).ConfigureAwait(false);
        var version = stored.Snapshot?.Version ?? 0;
        var document = stored.Snapshot?.State?.DeepClone();
        if (version < stored.Version)
        {
            foreach (var entry in await log.ReadModelEntriesAsync(model, version, cancellationToken).ConfigureAwait(false))
            {
                document = ModelDocument.Apply(document, entry.Command, DocumentPath.Parse(entry.Command.Path));
                version = entry.Version;
            }
        }
        return new ModelState(version, stored.LastPosition, document);
    }

    /// <summary>
    /// The tenant of the model's last document that existed, replayed from its first entry (a snapshot may hold it
    /// deleted already): a deleted model is still that tenant's.
    /// </summary>
    public static async Task<string?> LastTenantAsync(ICommandLog log, ModelKey model, CancellationToken cancellationToken)
    {
        string? tenant = null;
        JsonNode? document = null;
        foreach (var entry in await log.ReadModelEntriesAsync(model, 0, cancellationToken).ConfigureAwait(false))
        {
            document = ModelDocument.Apply(document, entry.Command, DocumentPath.Parse(entry.Command.Path));
            if (document is not null) tenant = ModelTenancy.Of(document);
        }
        return tenant;
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Lucene.Net.Documents;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Lucene;

/// <summary>
/// How a derived document is laid out in the index: its key (<c>_id</c>), version (<c>_version</c>) and JSON
/// (<c>_source</c>) stored; its string fields analysed under their own names and together under <c>_all</c>; every
/// scalar also an exact term under <c>name.keyword</c>.
/// </summary>
internal static class IndexedDocuments
{
    public const string IdField = "_id";
    public const string VersionField = "_version";
    public const string SourceField = "_source";
    public const string DeletedField = "_deleted";
    public const string AllField = "_all";

    /// <summary>What a delete leaves: the key and version, flagged deleted, so that replayed older writes stay ignored.</summary>
    public static Document Tombstone(SinkDocument document) =>
    [
        new StringField(IdField, document.Key, Field.Store.YES),
        new StoredField(VersionField, document.Version),
        new StringField(DeletedField, "1", Field.Store.YES),
    ];

    /// <summary>The Lucene document of <paramref name="document"/>: key, version and JSON stored, every field indexed.</summary>
    public static Document Build(SinkDocument document)
    {
        var indexed = new Document
        {
            new StringField(IdField, document.Key, Field.Store.YES),
            new StoredField(VersionField, document.Version),
            new StoredField(SourceField, document.Document!.ToJsonString()),
        };
        Index(indexed, "", document.Document!);
        return indexed;
    }

    /// <summary>
    /// Indexes <paramref name="value"/>'s fields under their names: a nested object's under dotted names
    /// (<c>author.name</c>) and an array's items each under the array's name, as Elasticsearch maps them, so a
    /// joined view is searchable by the row it embeds.
    /// </summary>
    private static void Index(Document indexed, string name, JsonNode? value)
    {
        switch (value)
        {
            case JsonObject fields:
                foreach (var (field, nested) in fields) Index(indexed, name.Length == 0 ? field : $"{name}.{field}", nested);
                break;
            case JsonArray items:
                foreach (var item in items) Index(indexed, name, item);
                break;
            case JsonValue when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                indexed.Add(new TextField(name, text, Field.Store.NO));
                indexed.Add(new TextField(AllField, text, Field.Store.NO));
                indexed.Add(new StringField(name + ".keyword", text, Field.Store.NO));
                break;
            case JsonValue when value.GetValueKind() is JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                indexed.Add(new StringField(name + ".keyword", value.ToJsonString(), Field.Store.NO));
                indexed.Add(new StringField(name, value.ToJsonString(), Field.Store.NO));
                break;
        }
    }
}

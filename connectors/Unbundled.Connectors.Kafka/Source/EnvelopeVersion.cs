using System.Globalization;
using System.Text.Json;

namespace Unbundled.Connectors.Kafka.Source;

/// <summary>
/// The version that guards sink writes, read from the envelope, never from the Kafka offset (which
/// changes when a topic is re-created or repartitioned: the failure of Kafka Connect's Elasticsearch sink
/// that uses it). By default: our <c>source.version</c>, PostgreSQL's <c>source.lsn</c>, MySQL's binlog
/// file number, position and row packed into one number; or the number at a configured path.
/// </summary>
internal static class EnvelopeVersion
{
    /// <summary>The version of <paramref name="envelope"/>, whose <c>source</c> block reads as <paramref name="source"/>, or why there is none.</summary>
    public static (long Version, string? Problem) Of(JsonElement envelope, string? path, SourceFields source)
    {
        if (path is not null)
        {
            JsonElement? node = envelope;
            foreach (var part in path.Split('.')) node = EnvelopeReader.Field(node, part);
            return Number(node) is { } version ? (version, null) : (0, $"the envelope has no number at '{path}' (the source's 'version' option) to version the change by");
        }
        if (Number(source.Version) is { } ours) return (ours, null);
        switch (source.Connector)
        {
            case "postgresql" when Number(source.Lsn) is { } lsn:
                return (lsn, null);
            case "mysql" or "mariadb" when Binlog(source) is { } position:
                return (position, null);
        }
        return (0, "the envelope carries no version Unbundled knows (source.version, PostgreSQL's source.lsn, MySQL's source.file and pos): set the source's 'version' option to a path of one");
    }

    /// <summary>
    /// MySQL's position as one growing number: binlog file number (20 bits), position in it (32 bits) and
    /// row within the event (11 bits), so that rows of one multi-row event stay ordered.
    /// </summary>
    private static long? Binlog(SourceFields source)
    {
        if (source.File is not { } file || Number(source.Pos) is not { } position) return null;
        var dot = file.LastIndexOf('.');
        if (!long.TryParse(file.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index) || index >= 1 << 20 || position is < 0 or > uint.MaxValue) return null;
        var row = Math.Clamp(Number(source.Row) ?? 0, 0, 2047);
        return (index << 43) | (position << 11) | row;
    }

    // Debezium's own source.version is its release ("2.7.0.Final"), a string no number parses from.
    private static long? Number(JsonElement? node) => node switch
    {
        { ValueKind: JsonValueKind.Number } value => value.TryGetInt64(out var number) ? number : null,
        { ValueKind: JsonValueKind.String } value when long.TryParse(value.GetString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) => number,
        _ => null,
    };
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// The index settings the double knows, validated as Elasticsearch validates them at index creation:
/// keys are normalised to <c>index.*</c> (flat or nested), an unknown key is refused ("unknown
/// setting […]", Index modules reference), and time values need a unit (API conventions, time units).
/// </summary>
internal sealed class IndexSettings
{
    private static readonly HashSet<string> Known =
    [
        "index.number_of_shards", "index.number_of_replicas", "index.refresh_interval", "index.gc_deletes",
        "index.max_result_window", "index.mapping.total_fields.limit", "index.mapping.depth.limit",
        "index.search.idle.after", "index.codec", "index.auto_expand_replicas", "index.max_inner_result_window",
    ];

    private readonly SortedDictionary<string, string> _values = new(StringComparer.Ordinal);

    /// <summary>Documents stay invisible to search until a refresh; -1 disables scheduled refreshes. Default 1 s.</summary>
    public TimeSpan? RefreshInterval { get; private set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a deleted document's version is remembered (index.gc_deletes, default 60 s).</summary>
    public TimeSpan GcDeletes { get; private set; } = TimeSpan.FromSeconds(60);

    /// <summary>The most <c>from + size</c> a search may ask for (index.max_result_window, default 10,000).</summary>
    public int MaxResultWindow { get; private set; } = 10_000;

    /// <summary>The most mapped fields, objects and multi-fields included (index.mapping.total_fields.limit, default 1,000).</summary>
    public int TotalFieldsLimit { get; private set; } = 1_000;

    /// <summary>Parses a create-index <c>settings</c> object; throws the error Elasticsearch answers.</summary>
    public static IndexSettings Parse(JsonObject? settings)
    {
        var parsed = new IndexSettings();
        if (settings is null) return parsed;
        foreach (var (key, value) in Flatten(settings, ""))
        {
            var name = key.StartsWith("index.", StringComparison.Ordinal) ? key : "index." + key;
            if (!Known.Contains(name) && !name.StartsWith("index.analysis.", StringComparison.Ordinal))
                throw EsError.BadRequest($"unknown setting [{name}] please check that any required plugins are installed, or check the breaking changes documentation for removed settings");
            parsed._values[name] = value;
            switch (name)
            {
                case "index.refresh_interval": parsed.RefreshInterval = value == "-1" ? null : Time(name, value); break;
                case "index.gc_deletes": parsed.GcDeletes = Time(name, value); break;
                case "index.max_result_window": parsed.MaxResultWindow = Integer(name, value); break;
                case "index.mapping.total_fields.limit": parsed.TotalFieldsLimit = Integer(name, value); break;
            }
        }
        return parsed;
    }

    /// <summary>The settings as GET /{index}/_settings shows them: nested under <c>index</c>, values as strings.</summary>
    public JsonObject ToJson()
    {
        var root = new JsonObject();
        foreach (var (key, value) in _values)
        {
            var node = root;
            var parts = key.Split('.');
            foreach (var part in parts[..^1]) node = node[part] as JsonObject ?? (JsonObject)(node[part] = new JsonObject());
            node[parts[^1]] = value;
        }
        return root;
    }

    private static IEnumerable<(string, string)> Flatten(JsonObject settings, string prefix)
    {
        foreach (var (key, value) in settings)
        {
            if (value is JsonObject nested)
            {
                foreach (var pair in Flatten(nested, prefix + key + ".")) yield return pair;
            }
            else yield return (prefix + key, value?.ToString() ?? "");
        }
    }

    /// <summary>An Elasticsearch time value: a number and one of d, h, m, s, ms, micros, nanos.</summary>
    public static TimeSpan Time(string setting, string value)
    {
        var units = new (string Suffix, double Ms)[] { ("nanos", 1e-6), ("micros", 1e-3), ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000) };
        foreach (var (suffix, ms) in units)
        {
            if (value.EndsWith(suffix, StringComparison.Ordinal) && long.TryParse(value[..^suffix.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
                return TimeSpan.FromMilliseconds(amount * ms);
        }
        throw EsError.BadRequest($"failed to parse setting [{setting}] with value [{value}] as a time value: unit is missing or unrecognized");
    }

    private static int Integer(string setting, string value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw EsError.BadRequest($"Failed to parse value [{value}] for setting [{setting}]");
}

using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>A compiled query: the score of a document's source, or null when it does not match.</summary>
internal delegate double? Matcher(JsonObject source);

/// <summary>
/// The Query DSL subset the double answers: match_all, match, term, bool (must, filter, should,
/// must_not) and query_string, with the query_string syntax of the Query string query reference:
/// terms and <c>field:term</c>, <c>"phrases"</c>, <c>AND</c>/<c>OR</c>/<c>NOT</c>, <c>+</c>/<c>-</c>,
/// grouping, <c>*</c>/<c>?</c> wildcards, default_operator OR, and a parse error as a 400 whose root
/// cause is query_shard_exception. Text fields match through a lowercasing word analyzer, keyword
/// fields (<c>.keyword</c>) exactly. Syntax the double does not model (ranges, fuzziness, boosts,
/// regular expressions) is refused with 501, so no test can pass by accident on an unmodelled feature.
/// </summary>
internal static partial class SearchQuery
{
    public static Matcher Compile(JsonObject? query, IndexMapping mapping)
    {
        if (query is null) return _ => 1;
        if (query.Count != 1) throw new EsError(400, "parsing_exception", "[_na] query malformed, must start with start_object");
        var (kind, body) = query.First();
        switch (kind)
        {
            case "match_all": return _ => 1;
            case "match":
                var (field, value) = body!.AsObject().First();
                var text = value is JsonObject m ? (string?)m["query"] : value?.ToString();
                var all = value is JsonObject o && (string?)o["operator"] is "and" or "AND";
                var words = Words(text).ToList();
                return source =>
                {
                    var found = words.Count(w => Values(source, field, mapping).Any(v => Term(mapping, field, v, w)));
                    return (all ? found == words.Count : found > 0) && words.Count > 0 ? found : null;
                };
            case "term":
                var (termField, termValue) = body!.AsObject().First();
                var exact = termValue is JsonObject t ? t["value"]!.ToString() : termValue!.ToString();
                return source => Values(source, termField, mapping).Any(v => Stringify(v) == exact) ? 1 : null;
            case "bool": return Bool(body!.AsObject(), mapping);
            case "query_string":
                var spec = body!.AsObject();
                var queryText = (string?)spec["query"] ?? throw new EsError(400, "parsing_exception", "[query_string] requires 'query' element");
                var defaultAnd = ((string?)spec["default_operator"])?.ToUpperInvariant() == "AND";
                try
                {
                    return new QueryStringParser(queryText, defaultAnd, mapping, (string?)spec["default_field"]).Parse();
                }
                catch (FormatException error)
                {
                    throw new EsError(400, "search_phase_execution_exception", "all shards failed",
                        ("query_shard_exception", $"Failed to parse query [{queryText}]: {error.Message}"));
                }
            default:
                throw new EsError(400, "parsing_exception", $"unknown query [{kind}]");
        }
    }

    private static Matcher Bool(JsonObject spec, IndexMapping mapping)
    {
        Matcher[] Clauses(string occur) => spec[occur] switch
        {
            JsonArray list => list.Select(q => Compile(q!.AsObject(), mapping)).ToArray(),
            JsonObject single => [Compile(single, mapping)],
            _ => [],
        };
        var must = Clauses("must").Concat(Clauses("filter")).ToArray();
        var should = Clauses("should");
        var mustNot = Clauses("must_not");
        return Combine(must, should, mustNot);
    }

    /// <summary>Boolean query semantics: every must, no must_not, and at least one should when there is no must.</summary>
    public static Matcher Combine(Matcher[] must, Matcher[] should, Matcher[] mustNot) => source =>
    {
        if (mustNot.Any(q => q(source) is not null)) return null;
        var score = 0.0;
        foreach (var q in must)
        {
            if (q(source) is not { } s) return null;
            score += s;
        }
        var matchedShould = should.Select(q => q(source)).Where(s => s is not null).Sum(s => s!.Value);
        if (must.Length == 0 && should.Length > 0 && matchedShould == 0) return null;
        if (must.Length == 0 && should.Length == 0 && mustNot.Length == 0) return null;
        return Math.Max(score + matchedShould, 1e-3);
    };

    /// <summary>
    /// The indexed values at a dotted path (<c>a.b</c>), arrays flattened; <c>x.keyword</c> reads x; <c>*</c>
    /// every leaf. Only mapped fields are indexed, so a field that dynamic: false left unmapped is not searchable.
    /// </summary>
    public static IEnumerable<JsonNode> Values(JsonObject source, string field, IndexMapping mapping)
    {
        if (field == "*") return Leaves(source, "").Where(l => mapping.TypeOf(l.Path) is not null).Select(l => l.Value);
        if (mapping.TypeOf(field) is null) return [];
        var path = field.EndsWith(".keyword", StringComparison.Ordinal) ? field[..^".keyword".Length] : field;
        IEnumerable<JsonNode> nodes = [source];
        foreach (var part in path.Split('.'))
            nodes = nodes.SelectMany(n => n is JsonObject o && o[part] is { } child ? Flatten(child) : []);
        return nodes;
    }

    private static IEnumerable<JsonNode> Flatten(JsonNode node) => node is JsonArray array ? array.Where(i => i is not null).SelectMany(i => Flatten(i!)) : [node];

    private static IEnumerable<(string Path, JsonNode Value)> Leaves(JsonNode node, string path) => node switch
    {
        JsonObject o => o.Where(p => p.Value is not null).SelectMany(p => Leaves(p.Value!, path.Length == 0 ? p.Key : $"{path}.{p.Key}")),
        JsonArray a => a.Where(i => i is not null).SelectMany(i => Leaves(i!, path)),
        _ => [(path, node)],
    };

    /// <summary>Whether one value of <paramref name="field"/> matches a term, analysed as the field's mapping says.</summary>
    public static bool Term(IndexMapping mapping, string field, JsonNode value, string term)
    {
        if (value is JsonObject or JsonArray) return false;
        var text = Stringify(value);
        var keyword = field.EndsWith(".keyword", StringComparison.Ordinal) || mapping.TypeOf(field) == "keyword";
        var wildcard = term.IndexOfAny(['*', '?']) >= 0;
        if (keyword) return wildcard ? Wildcard(term).IsMatch(text) : text == term;
        var analysed = value.GetValueKind() == JsonValueKind.String && mapping.TypeOf(field) is null or "text";
        if (!analysed) return wildcard ? Wildcard(term).IsMatch(text) : text.Equals(term, StringComparison.OrdinalIgnoreCase);
        var lowered = term.ToLowerInvariant();
        return wildcard ? Words(text).Any(w => Wildcard(lowered).IsMatch(w)) : Words(text).Contains(lowered);
    }

    /// <summary>Whether the words of a phrase stand next to each other, in order, in one value of the field.</summary>
    public static bool Phrase(IndexMapping mapping, string field, JsonNode value, string phrase)
    {
        if (value is JsonObject or JsonArray) return false;
        if (field.EndsWith(".keyword", StringComparison.Ordinal) || mapping.TypeOf(field) == "keyword") return Stringify(value) == phrase;
        var words = Words(Stringify(value)).ToList();
        var wanted = Words(phrase).ToList();
        if (wanted.Count == 0) return false;
        for (var i = 0; i + wanted.Count <= words.Count; i++)
        {
            if (words.Skip(i).Take(wanted.Count).SequenceEqual(wanted)) return true;
        }
        return false;
    }

    public static string Stringify(JsonNode value) => value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString();

    /// <summary>The standard analyzer, roughly: lowercased runs of letters and digits.</summary>
    public static IEnumerable<string> Words(string? text) => WordPattern().Matches(text ?? "").Select(m => m.Value.ToLowerInvariant());

    private static Regex Wildcard(string term) =>
        new("^" + Regex.Escape(term).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    [GeneratedRegex(@"\w+")]
    private static partial Regex WordPattern();
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Unbundled.Connectors.Postgres.Values;

/// <summary>
/// Turns a value in PostgreSQL's text form (as pgoutput streams it and as the snapshot reads it, in sessions
/// with <c>DateStyle=ISO</c> and <c>TimeZone=UTC</c>) into typed JSON, the same way on both paths so that a
/// row read by the snapshot and the same row streamed are the same document. The mapping is in docs/sources.md.
/// </summary>
internal static class PgValue
{
    /// <summary>The JSON of <paramref name="text"/>, a value of <paramref name="type"/>; null stays null.</summary>
    public static JsonNode? ToJson(string? text, PgType type, PgTypes types)
    {
        if (text is null) return null;
        switch (type.Name)
        {
            case "bool": return JsonValue.Create(text is "t" or "true");
            case "int2" or "int4" or "int8" or "oid" or "xid":
                // A number token, not a boxed long, so readers convert it to whichever numeric type they use.
                return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? JsonNode.Parse(text) : JsonValue.Create(text);
            case "float4" or "float8":
                // NaN and the infinities have no JSON number: they stay text, as PostgreSQL writes them.
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real)
                    ? JsonNode.Parse(real.ToString("R", CultureInfo.InvariantCulture)) : JsonValue.Create(text);
            case "numeric":
                // Parsed as a JSON number token, every digit is kept (a decimal would round past 28 digits).
                return text is "NaN" or "Infinity" or "-Infinity" ? JsonValue.Create(text) : JsonNode.Parse(text);
            case "json" or "jsonb": return JsonNode.Parse(text);
            case "bytea":
                return text.StartsWith(@"\x", StringComparison.Ordinal) ? JsonValue.Create(Convert.ToBase64String(Convert.FromHexString(text.AsSpan(2)))) : JsonValue.Create(text);
            case "timestamp": return JsonValue.Create(IsoDateTime(text));
            case "timestamptz": return JsonValue.Create(IsoDateTime(text.EndsWith("+00", StringComparison.Ordinal) ? text[..^3] + "Z" : text));
        }
        if (type.Category == 'A' && type.Element != 0)
        {
            var at = text.IndexOf('{');
            return at < 0 ? JsonValue.Create(text) : ParseArray(text, ref at, types[type.Element], types);
        }
        return JsonValue.Create(text);
    }

    // "2024-01-02 03:04:05.5" → "2024-01-02T03:04:05.5"; infinity and BC dates stay as PostgreSQL writes them.
    private static string IsoDateTime(string text) =>
        text.Length > 10 && text[10] == ' ' && char.IsAsciiDigit(text[0]) && !text.EndsWith(" BC", StringComparison.Ordinal) ? string.Concat(text.AsSpan(0, 10), "T", text.AsSpan(11)) : text;

    // An array literal: {1,2,NULL}, {"a,b","c\"d"}, {{1,2},{3,4}}; elements map as their type does.
    private static JsonArray ParseArray(string text, ref int at, PgType element, PgTypes types)
    {
        var array = new JsonArray();
        at++; // '{'
        while (at < text.Length)
        {
            var c = text[at];
            if (c == '}') { at++; break; }
            if (c is ',' or ' ') { at++; continue; }
            if (c == '{') { array.Add(ParseArray(text, ref at, element, types)); continue; }
            if (c == '"')
            {
                var value = new StringBuilder();
                for (at++; at < text.Length && text[at] != '"'; at++)
                    value.Append(text[at] == '\\' && at + 1 < text.Length ? text[++at] : text[at]);
                at++;
                array.Add(ToJson(value.ToString(), element, types));
                continue;
            }
            var end = at;
            while (end < text.Length && text[end] is not (',' or '}')) end++;
            var token = text[at..end].Trim();
            at = end;
            array.Add(token.Equals("NULL", StringComparison.OrdinalIgnoreCase) ? null : ToJson(token, element, types));
        }
        return array;
    }
}

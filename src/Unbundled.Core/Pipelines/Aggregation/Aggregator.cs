using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// The arithmetic of one <see cref="AggregateDefinition"/>: what a member contributes to which group, and a
/// group's document from what its members contribute. A group is computed from its members' stored
/// contributions, so a member that changes, moves or leaves replaces what it gave instead of adding to it,
/// and a deleted minimum or maximum is simply no longer among them.
/// </summary>
public sealed class Aggregator
{
    private readonly AggregateDefinition _definition;
    private readonly Func<ChangeEvent, string?> _group;
    private readonly (AggregateField Field, EventPath? Value, EventPath? Order)[] _fields;

    /// <summary>Compiles <paramref name="definition"/>; its paths and template were checked when the file loaded.</summary>
    public Aggregator(AggregateDefinition definition)
    {
        _definition = definition;
        if (!EventPath.TryParseTemplate(definition.GroupBy, isKey: true, out _group, out var error)) throw new ArgumentException(error, nameof(definition));
        _fields = [.. definition.Fields.Select(f => (f, Path(f.Path), Path(f.OrderBy)))];
    }

    private static EventPath? Path(string? text) =>
        text is null ? null : EventPath.TryParse(text, out var path, out var error) ? path : throw new ArgumentException(error, nameof(text));

    /// <summary>
    /// The group <paramref name="member"/> (a document the projection derived from <paramref name="origin"/>) belongs
    /// to, and what it contributes there; no group for a deleted member, one the filter refuses, or one whose group
    /// key cannot be rendered.
    /// </summary>
    public MemberChange Contribute(SinkDocument member, ChangeEvent origin)
    {
        if (member.IsDelete || member.Document is not { } document) return new MemberChange(member.Key, member.Version, null, null);
        var seen = origin with { Key = member.Key, Op = ChangeOp.Update, Before = null, After = document };
        if (_definition.Where is { } where && !where.Evaluate(seen)) return new MemberChange(member.Key, member.Version, null, null);
        if (_group(seen) is not { Length: > 0 } group) return new MemberChange(member.Key, member.Version, null, null);
        var contribution = new JsonObject();
        foreach (var (field, value, order) in _fields)
        {
            if (value is null) continue;
            var given = value.Resolve(seen)?.DeepClone();
            contribution[field.Name] = field.Function == AggregateFunction.Collect
                ? new JsonObject { ["v"] = given, ["o"] = (order ?? value).Resolve(seen)?.DeepClone() }
                : given;
        }
        return new MemberChange(member.Key, member.Version, group, contribution);
    }

    /// <summary>The document of <paramref name="group"/> from its members' contributions; null when it has none left.</summary>
    public JsonObject? Compute(string group, IReadOnlyList<JsonObject> members)
    {
        if (members.Count == 0) return null;
        var document = new JsonObject { ["group"] = group };
        foreach (var (field, _, _) in _fields)
        {
            var values = members.Select(m => m[field.Name]).ToList();
            document[field.Name] = field.Function switch
            {
                AggregateFunction.Count => members.Count,
                AggregateFunction.Sum => Sum(values).Total,
                AggregateFunction.Avg => Sum(values) is { Count: > 0 } sum ? JsonValue.Create(Math.Round(sum.Total / sum.Count, 10)) : null,
                AggregateFunction.Min => values.Where(v => v is not null).MinBy(v => v, JsonOrder.Instance)?.DeepClone(),
                AggregateFunction.Max => values.Where(v => v is not null).MaxBy(v => v, JsonOrder.Instance)?.DeepClone(),
                AggregateFunction.DistinctCount => values.Where(v => v is not null).Select(v => v!.ToJsonString()).Distinct(StringComparer.Ordinal).Count(),
                AggregateFunction.Collect => Collect(values, field),
                _ => null,
            };
        }
        return document;
    }

    private static (decimal Total, int Count) Sum(List<JsonNode?> values)
    {
        var (total, count) = (0m, 0);
        foreach (var value in values)
        {
            if (JsonOrder.Number(value) is not { } number) continue;
            total += number;
            count++;
        }
        return (total, count);
    }

    private static JsonArray Collect(List<JsonNode?> entries, AggregateField field)
    {
        var kept = entries.OfType<JsonObject>().Where(e => e["v"] is not null);
        var ordered = field.Descending ? kept.OrderByDescending(e => e["o"], JsonOrder.Instance) : kept.OrderBy(e => e["o"], JsonOrder.Instance);
        return [.. ordered.Take(field.Limit).Select(e => e["v"]!.DeepClone())];
    }

    /// <summary>How values compare: missing first, then numbers by value, then strings ordinally, then anything else by its JSON.</summary>
    private sealed class JsonOrder : IComparer<JsonNode?>
    {
        public static readonly JsonOrder Instance = new();

        public static decimal? Number(JsonNode? value) =>
            value is JsonValue number && number.GetValueKind() == JsonValueKind.Number
            && decimal.TryParse(number.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

        public int Compare(JsonNode? x, JsonNode? y)
        {
            var (rankX, rankY) = (Rank(x), Rank(y));
            if (rankX != rankY) return rankX.CompareTo(rankY);
            return rankX switch
            {
                0 => 0,
                1 => Number(x)!.Value.CompareTo(Number(y)!.Value),
                2 => string.CompareOrdinal(x!.GetValue<string>(), y!.GetValue<string>()),
                _ => string.CompareOrdinal(x!.ToJsonString(), y!.ToJsonString()),
            };
        }

        private static int Rank(JsonNode? value) => value switch
        {
            null => 0,
            _ when Number(value) is not null => 1,
            JsonValue text when text.GetValueKind() == JsonValueKind.String => 2,
            _ => 3,
        };
    }
}

/// <summary>A member as a batch leaves it: its version, and its group and contribution (none when it left every group).</summary>
public sealed record MemberChange(string Member, long Version, string? Group, JsonObject? Contribution);

/// <summary>A group's document to write (null: the group is empty, delete it), at the group's revision.</summary>
public sealed record GroupWrite(string Group, long Revision, JsonObject? Document);

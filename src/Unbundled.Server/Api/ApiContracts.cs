using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Unbundled.Log;
using Unbundled.Master;
using Unbundled.Model;

namespace Unbundled.Server.Api;

/// <summary>The body of <c>POST /models/{type}/{id}/flush</c>.</summary>
public sealed record FlushBody
{
    /// <summary>The master version the client's local state is at (0 for a model it has never read).</summary>
    [JsonPropertyName("baseVersion")]
    public required long BaseVersion { get; init; }

    /// <summary>The commands the client applied locally, in order.</summary>
    [JsonPropertyName("commands")]
    public required IReadOnlyList<Command> Commands { get; init; }

    /// <summary>Names this flush so that a retry after a lost answer is applied once (the <c>Idempotency-Key</c> header wins).</summary>
    [JsonPropertyName("idempotencyKey")]
    public string? IdempotencyKey { get; init; }
}

/// <summary>One command as the log holds it, on the wire.</summary>
public sealed record EntryDto(long Position, long Version, CommandOp Op, string Path,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] JsonNode? Value,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string>? Meta,
    DateTimeOffset Timestamp,
    [property: JsonPropertyName("from"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? MovedFrom = null)
{
    /// <summary>The wire form of a log entry.</summary>
    public static EntryDto From(LogEntry entry) => new(entry.Position, entry.Version, entry.Command.Op, entry.Command.Path,
        entry.Command.Value, entry.Command.Meta, entry.Timestamp, entry.Command.From);
}

/// <summary>A model's state at a version.</summary>
public sealed record SnapshotDto(long Version, JsonNode? State);

/// <summary>The answer to a flush: the new version, the position to wait for when reading views, and what the client lacks.</summary>
public sealed record FlushResponse(
    string Type,
    string Id,
    long Version,
    long Position,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<EntryDto>? Commands,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] SnapshotDto? Snapshot)
{
    /// <summary>The wire form of a flush result.</summary>
    public static FlushResponse From(FlushResult result) => new(result.Model.Type, result.Model.Id, result.Version, result.Position,
        result.Commands?.Select(EntryDto.From).ToList(),
        result.Snapshot is null ? null : new SnapshotDto(result.Snapshot.Version, result.Snapshot.State));
}

/// <summary>A model's current state (version 0 and null state: no command yet).</summary>
public sealed record ModelResponse(string Type, string Id, long Version, long Position, JsonNode? State);

/// <summary>A page of a model's commands after a version; <paramref name="Next"/> is the <c>since</c> of the next page, when there may be one.</summary>
public sealed record CommandsResponse(string Type, string Id, long Since, IReadOnlyList<EntryDto> Commands,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? Next = null);

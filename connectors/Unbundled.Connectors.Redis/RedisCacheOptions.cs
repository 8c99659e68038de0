namespace Unbundled.Connectors.Redis;

/// <summary>How documents are stored under their keys.</summary>
public enum RedisValueFormat
{
    /// <summary>The document as one JSON string (<c>GET key</c>).</summary>
    Json,

    /// <summary>A hash of the document's top-level fields, non-string values as JSON (<c>HGETALL key</c>).</summary>
    Hash,
}

/// <summary>The options of a <c>redis</c> sink in pipelines.yaml.</summary>
public sealed class RedisCacheOptions
{
    /// <summary>A StackExchange.Redis configuration string; empty uses the server's Redis (<c>UNBUNDLED_REDIS</c>, or the embedded one).</summary>
    public string? Connection { get; set; }

    /// <summary>The Redis key of a document: a template over its top-level fields and <c>{key}</c> (the projected key), e.g. <c>todo:{listId}:{id}</c>.</summary>
    public string Key { get; set; } = "{key}";

    /// <summary>Prepended to every key the template makes.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// How long the version of a deleted key is kept to guard against replays of older writes; after that
    /// it is forgotten, so deletes do not grow the versions hash forever. Replays come in log order, so a
    /// forgotten delete is applied again after any older write it replays; only an out-of-order write
    /// older than this could bring a document back. Zero keeps them forever.
    /// </summary>
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>JSON string or hash.</summary>
    public RedisValueFormat Format { get; set; } = RedisValueFormat.Json;

    /// <summary>How long a written document lives; none by default.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>The Redis database number (-1: the connection's default).</summary>
    public int Database { get; set; } = -1;
}

/// <summary>The Redis the host provides to sinks that name no connection of their own.</summary>
public sealed class RedisConnectionDefaults
{
    /// <summary>A StackExchange.Redis configuration string.</summary>
    public string? Connection { get; set; }
}

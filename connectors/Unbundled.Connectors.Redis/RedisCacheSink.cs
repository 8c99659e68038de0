using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using StackExchange.Redis;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Connectors.Redis;

/// <summary>
/// A Redis read cache of derived documents. Lua script calls, each atomic, take a batch's documents in
/// order: each is skipped unless its version is above the one the view holds for that key (deletes leave
/// their version behind as a tombstone), else written or deleted; the batch's last call moves the
/// pipeline's offset forward with its writes, so the offset never passes a write that did not land.
/// Versions live in the hash <c>{prefix}unbundled:{pipeline}:versions</c>, the offset in <c>{prefix}unbundled:{pipeline}:offset</c>.
/// </summary>
public sealed class RedisCacheSink : IGenerationalSink
{
    /// <inheritdoc />
    /// <remarks>With a TTL, every write refreshes an entry's life: a document left unwritten because it did not change would expire while its model is in use.</remarks>
    public bool WantsEveryDocument => _options.Ttl is not null;

    /// <summary>How many documents one script call writes.</summary>
    private const int ChunkSize = 250;

    private readonly RedisCacheOptions _options;
    private readonly KeyTemplate _key;
    private readonly Func<CancellationToken, Task<IConnectionMultiplexer>> _connect;
    private readonly RedisKey _versionsKey;
    private readonly RedisKey _tombstonesKey;
    private readonly RedisKey _offsetKey;
    private readonly RedisKey _fenceKey;
    private readonly RedisKey _progressKey;
    private readonly RedisKey _generationKey;
    private readonly string _prefix;
    private readonly int _generation;
    private IDatabase? _database;

    /// <summary>Creates the sink of one pipeline over a connection the caller provides.</summary>
    /// <remarks>
    /// Generation 0 writes its documents under <see cref="RedisCacheOptions.Prefix"/>; a rebuilt generation n
    /// under <c>{prefix}g{n}:</c>, and <c>{prefix}unbundled:{pipeline}:generation</c> says which one is live.
    /// </remarks>
    public RedisCacheSink(string pipeline, RedisCacheOptions options, Func<CancellationToken, Task<IConnectionMultiplexer>> connect, int generation = 0)
    {
        _options = options;
        _connect = connect;
        _generation = generation;
        _key = KeyTemplate.TryParse(options.Key, out var key, out var error) ? key : throw new ArgumentException(error, nameof(options));
        _prefix = generation == 0 ? options.Prefix : $"{options.Prefix}g{generation}:";
        // Under the sink's prefix, so that two deployments sharing one Redis never share a pipeline's state.
        _versionsKey = $"{_prefix}unbundled:{pipeline}:versions";
        _offsetKey = $"{_prefix}unbundled:{pipeline}:offset";
        _tombstonesKey = $"{_prefix}unbundled:{pipeline}:tombstones";
        _fenceKey = $"{_prefix}unbundled:{pipeline}:fence";
        _progressKey = $"{_prefix}unbundled:{pipeline}:progress";
        _generationKey = $"{options.Prefix}unbundled:{pipeline}:generation";
    }

    /// <inheritdoc />
    public bool KeepsOffset => true;

    /// <inheritdoc />
    public bool ServesReadsAnywhere => true;

    /// <inheritdoc />
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var connection = await _connect(cancellationToken).ConfigureAwait(false);
        _database = connection.GetDatabase(_options.Database);
        await Call(() => _database.PingAsync()).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<long> LoadOffsetAsync(CancellationToken cancellationToken)
    {
        var offset = await Call(() => Database.StringGetAsync(_offsetKey)).ConfigureAwait(false);
        return offset.HasValue ? (long)offset : 0;
    }

    /// <inheritdoc />
    /// <remarks>
    /// A batch goes as script calls of <see cref="ChunkSize"/> documents sent back to back, so that Redis runs one
    /// while the next is encoded; only the last moves the offset. Each call is atomic and version-guarded, and
    /// writes nothing unless the one before it landed (a progress token), so the offset never passes a missing
    /// write; a crash between two calls only replays writes that are then skipped.
    /// </remarks>
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var rejected = new List<SinkRejection>();
        var answers = await Call(() =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var attempt = Guid.NewGuid().ToString("N");
            var calls = new List<Task<RedisResult>>();
            var at = 0;
            do
            {
                var end = Math.Min(batch.Documents.Count, at + ChunkSize);
                calls.Add(SendAsync(batch, at, end, now, (end < batch.Documents.Count ? $"{attempt}:{calls.Count}" : "", calls.Count > 0 ? $"{attempt}:{calls.Count - 1}" : ""), rejected));
                at = end;
            }
            while (at < batch.Documents.Count);
            return Task.WhenAll(calls);
        }).ConfigureAwait(false);
        foreach (var answer in answers)
        {
            if (answer.Resp2Type != ResultType.Array) continue;
            var held = (long)answer[1];
            switch ((string?)answer[0])
            {
                case "fenced": throw new SinkFencedException(held, batch.Fence);
                // The script refuses to commit on top of an offset the store no longer holds (Redis restarted empty, keys evicted or flushed).
                case "lost": throw new SinkDataLostException(held, $"Redis holds offset {held} for this view, below the {batch.BasedOn} the batch was based on: its data was lost");
                // The call before it did not leave its token: another writer's call came between (a former owner still
                // writing), or it failed unseen. An earlier call's own error is thrown by WhenAll before this is reached.
                default: throw new SinkUnavailableException("a part of the batch did not reach Redis; the batch is written again");
            }
        }
        return rejected.Count == 0 ? SinkBatchResult.Success : new SinkBatchResult(rejected);
    }

    /// <summary>
    /// Sends the script call of documents <paramref name="from"/> up to <paramref name="to"/>, with its progress token and
    /// the previous call's (<paramref name="progress"/>); the first sweeps expired tombstones, the last moves the offset.
    /// </summary>
    private Task<RedisResult> SendAsync(SinkBatch batch, int from, int to, long now, (string Own, string Previous) progress, List<SinkRejection> rejected)
    {
        var last = to == batch.Documents.Count;
        var keys = new RedisKey[to - from + 5];
        (keys[0], keys[1], keys[2], keys[3], keys[4]) = (_versionsKey, _offsetKey, _tombstonesKey, _fenceKey, _progressKey);
        var values = new List<RedisValue>((to - from) * 3 + 8)
        {
            last ? batch.Offset : -1,
            _options.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : 0,
            batch.BasedOn,
            now,
            from == 0 ? (long)_options.TombstoneRetention.TotalMilliseconds : 0,
            batch.Fence,
            progress.Own,
            progress.Previous,
        };
        var count = 5;
        for (var i = from; i < to; i++)
        {
            var document = batch.Documents[i];
            var key = _key.Render(document, out var missing);
            if (key is null)
            {
                rejected.Add(new SinkRejection(document, $"the key template '{_options.Key}' needs the field '{missing}', which the document does not have as a scalar"));
                continue;
            }
            keys[count++] = _prefix + key;
            values.Add(document.Version);
            AddPayload(values, document);
        }
        return Database.ScriptEvaluateAsync(RedisWriteScript.Text, count == keys.Length ? keys : keys[..count], [.. values]);
    }

    /// <inheritdoc />
    public async Task ActivateAsync(CancellationToken cancellationToken) =>
        await Call(() => Database.StringSetAsync(_generationKey, _generation)).ConfigureAwait(false);

    /// <inheritdoc />
    /// <remarks>The versions hash lists every key this generation ever wrote, so only those are deleted.</remarks>
    public async Task DropAsync(CancellationToken cancellationToken)
    {
        var written = new List<RedisKey>();
        await foreach (var entry in Database.HashScanAsync(_versionsKey, pageSize: 1000).ConfigureAwait(false))
        {
            written.Add(entry.Name.ToString());
            if (written.Count < 1000) continue;
            await Call(() => Database.KeyDeleteAsync([.. written])).ConfigureAwait(false);
            written.Clear();
        }
        written.Add(_versionsKey);
        written.Add(_offsetKey);
        written.Add(_tombstonesKey);
        written.Add(_fenceKey);
        written.Add(_progressKey);
        await Call(() => Database.KeyDeleteAsync([.. written])).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>The key is the view's, as the key template renders it (no prefix): each generation reads it under its own prefix, as it writes.</remarks>
    public async Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        key = _prefix + key;
        if (_options.Format == RedisValueFormat.Json)
        {
            var value = await Call(() => Database.StringGetAsync(key)).ConfigureAwait(false);
            return value.HasValue ? JsonNode.Parse(value.ToString()) as JsonObject : null;
        }
        var fields = await Call(() => Database.HashGetAllAsync(key)).ConfigureAwait(false);
        if (fields.Length == 0) return null;
        var document = new JsonObject();
        foreach (var field in fields) document[field.Name.ToString()] = field.Value.ToString();
        return document;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private IDatabase Database => _database ?? throw new InvalidOperationException("The Redis sink is not connected.");

    private void AddPayload(List<RedisValue> values, SinkDocument document)
    {
        if (document.IsDelete)
        {
            values.Add("d");
            return;
        }
        if (_options.Format == RedisValueFormat.Json)
        {
            values.Add("j");
            values.Add(document.Document!.ToJsonString());
            return;
        }
        values.Add("h" + (document.Document!.Count * 2).ToString(CultureInfo.InvariantCulture));
        foreach (var (name, value) in document.Document)
        {
            values.Add(name);
            values.Add(value is null ? "null" : value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : value.ToJsonString());
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation().ConfigureAwait(false);
        }
        catch (Exception error) when (error is RedisConnectionException or RedisTimeoutException or ObjectDisposedException)
        {
            throw new SinkUnavailableException($"Redis is unavailable: {error.Message}", error);
        }
    }
}

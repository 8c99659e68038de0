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

    // Lua 5.1 (Redis) has unpack, Lua 5.4 (Garnet) table.unpack. Offsets and versions stay decimal strings and are
    // compared by `above`: Lua's numbers are doubles, exact only to 2^53, which a postgres source's offsets (commit
    // LSN << 16) pass after 128 GiB of WAL; strings also spare Redis a strtod and a printf per key.
    // A deleted key's version is kept as 'd' .. version, so that only a write over a delete touches the tombstones.
    private const string WriteScript = """
        local unpack = table.unpack or unpack
        local versions, offsetKey, tombstones, fenceKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
        local function above(a, b)
          local na, nb = string.byte(a) == 45, string.byte(b) == 45
          if na ~= nb then return nb end
          if na then a, b = string.sub(b, 2), string.sub(a, 2) end
          return #a > #b or (#a == #b and a > b)
        end
        local ttl = ARGV[2]
        local fence, heldFence = ARGV[6], redis.call('GET', fenceKey) or '0'
        if above(heldFence, fence) then return {'fenced', heldFence} end
        local current = redis.call('GET', offsetKey) or '0'
        if above(ARGV[3], current) then return {'lost', current} end
        local now, retention = ARGV[4], tonumber(ARGV[5])
        if retention > 0 then
          local expired = redis.call('ZRANGEBYSCORE', tombstones, 0, tonumber(now) - retention, 'LIMIT', 0, 1000)
          for _, key in ipairs(expired) do
            local held = redis.call('HGET', versions, key)
            -- A key written again since its delete keeps its guard (stores from before the 'd' mark left plain versions).
            if held and (string.byte(held) == 100 or redis.call('EXISTS', key) == 0) then redis.call('HDEL', versions, key) end
            redis.call('ZREM', tombstones, key)
          end
        end
        -- The versions are read and written once per call (HMGET, HSET), and plain JSON writes go as one MSET: a
        -- redis.call per key was most of Redis's work. Pending MSET values are flushed before any other write, so
        -- that writes to one key still land in order.
        local helds = #KEYS > 4 and redis.call('HMGET', versions, unpack(KEYS, 5, #KEYS)) or {}
        local seen, written, sets = {}, {}, {}
        local function flush()
          if #sets > 0 then
            redis.call('MSET', unpack(sets))
            sets = {}
          end
        end
        local a = 7
        for i = 5, #KEYS do
          local key = KEYS[i]
          local version, op = ARGV[a], ARGV[a + 1]
          local n = op == 'j' and 1 or op == 'd' and 0 or tonumber(string.sub(op, 2))
          a = a + 2
          -- A key met earlier in the call is guarded by what that write left.
          local held = seen[key]
          if held == nil then held = helds[i - 4] end
          local deleted = held and string.byte(held) == 100
          if deleted then held = string.sub(held, 2) end
          if not held or above(version, held) then
            if op == 'd' then
              flush()
              if not deleted then redis.call('DEL', key) end
              redis.call('ZADD', tombstones, now, key)
              version = 'd' .. version
            else
              if op == 'j' and ttl == '0' then
                sets[#sets + 1] = key
                sets[#sets + 1] = ARGV[a]
              elseif op == 'j' then
                flush()
                redis.call('SET', key, ARGV[a], 'PX', ttl)
              else
                flush()
                -- A key never written, or deleted, has no fields left to clear.
                if held and not deleted then redis.call('DEL', key) end
                if n > 0 then redis.call('HSET', key, unpack(ARGV, a, a + n - 1)) end
                if ttl ~= '0' then redis.call('PEXPIRE', key, ttl) end
              end
              if deleted then redis.call('ZREM', tombstones, key) end
            end
            seen[key] = version
            written[#written + 1] = key
            written[#written + 1] = version
          end
          a = a + n
        end
        flush()
        if #written > 0 then redis.call('HSET', versions, unpack(written)) end
        if above(ARGV[1], current) then redis.call('SET', offsetKey, ARGV[1]) end
        if above(fence, heldFence) then redis.call('SET', fenceKey, fence) end
        return 1
        """;

    /// <summary>How many documents one script call writes.</summary>
    private const int ChunkSize = 250;

    private readonly RedisCacheOptions _options;
    private readonly KeyTemplate _key;
    private readonly Func<CancellationToken, Task<IConnectionMultiplexer>> _connect;
    private readonly RedisKey _versionsKey;
    private readonly RedisKey _tombstonesKey;
    private readonly RedisKey _offsetKey;
    private readonly RedisKey _fenceKey;
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
    /// while the next is encoded; only the last moves the offset. Each call is atomic and version-guarded, so a
    /// crash between two only replays writes that are then skipped, as after any crash before the offset moved.
    /// </remarks>
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var rejected = new List<SinkRejection>();
        var answers = await Call(() =>
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var calls = new List<Task<RedisResult>>();
            var at = 0;
            do
            {
                var end = Math.Min(batch.Documents.Count, at + ChunkSize);
                calls.Add(SendAsync(batch, at, end, now, rejected));
                at = end;
            }
            while (at < batch.Documents.Count);
            return Task.WhenAll(calls);
        }).ConfigureAwait(false);
        foreach (var answer in answers)
        {
            if (answer.Resp2Type != ResultType.Array) continue;
            var held = (long)answer[1];
            if ((string?)answer[0] == "fenced") throw new SinkFencedException(held, batch.Fence);
            // The script refuses to commit on top of an offset the store no longer holds (Redis restarted empty, keys evicted or flushed).
            throw new SinkDataLostException(held, $"Redis holds offset {held} for this view, below the {batch.BasedOn} the batch was based on: its data was lost");
        }
        return rejected.Count == 0 ? SinkBatchResult.Success : new SinkBatchResult(rejected);
    }

    /// <summary>Sends the script call of documents <paramref name="from"/> up to <paramref name="to"/>; the first sweeps expired tombstones, the last moves the offset.</summary>
    private Task<RedisResult> SendAsync(SinkBatch batch, int from, int to, long now, List<SinkRejection> rejected)
    {
        var last = to == batch.Documents.Count;
        var keys = new RedisKey[to - from + 4];
        (keys[0], keys[1], keys[2], keys[3]) = (_versionsKey, _offsetKey, _tombstonesKey, _fenceKey);
        var values = new List<RedisValue>((to - from) * 3 + 6)
        {
            last ? batch.Offset : -1,
            _options.Ttl is { } ttl ? (long)ttl.TotalMilliseconds : 0,
            batch.BasedOn,
            now,
            from == 0 ? (long)_options.TombstoneRetention.TotalMilliseconds : 0,
            batch.Fence,
        };
        var count = 4;
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
        return Database.ScriptEvaluateAsync(WriteScript, keys.AsSpan(0, count).ToArray(), [.. values]);
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

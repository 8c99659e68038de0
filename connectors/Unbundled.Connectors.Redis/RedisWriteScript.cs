namespace Unbundled.Connectors.Redis;

/// <summary>
/// The Lua script one call of <see cref="RedisCacheSink.WriteAsync"/> runs per chunk of a batch, atomically.
/// KEYS: versions hash, offset, tombstones zset, fence, progress, then one per document. ARGV: the offset to
/// store ("-1" on all but a batch's last call), TTL ms, the offset the batch is based on, now ms, tombstone
/// retention ms, fencing token, this call's progress token and the previous call's ("" when none), then per
/// document its version, its op ('j' JSON, 'd' delete, 'h' .. field count) and its payload.
/// </summary>
/// <remarks>
/// Offsets and versions stay decimal strings, compared by <c>above</c>: Lua's numbers are doubles, exact only
/// to 2^53, which a postgres source's offsets (commit LSN &lt;&lt; 16) pass after 128 GiB of WAL. A deleted key's
/// version is kept as 'd' .. version, so that only a write over a delete touches the tombstones. Versions are
/// read and written once per call (HMGET, HSET) and plain JSON writes go as one MSET: a redis.call per key was
/// most of Redis's work. Lua 5.1 (Redis) has unpack, Lua 5.4 (Garnet) table.unpack.
/// </remarks>
internal static class RedisWriteScript
{
    public const string Text = """
        local unpack = table.unpack or unpack
        local versions, offsetKey, tombstones, fenceKey, progressKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
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
        -- A batch's calls run in order; one whose predecessor did not land writes nothing, so the last, which
        -- moves the offset, never passes writes that are missing.
        if ARGV[8] ~= '' and redis.call('GET', progressKey) ~= ARGV[8] then return {'broken', current} end
        local now, retention = ARGV[4], tonumber(ARGV[5])
        if retention > 0 then
          local expired = redis.call('ZRANGEBYSCORE', tombstones, 0, tonumber(now) - retention, 'LIMIT', 0, 1000)
          for _, key in ipairs(expired) do
            -- Only a marked delete's version is forgotten: stores from before the mark kept a plain version, which
            -- may since guard a live key again, so those stay.
            local held = redis.call('HGET', versions, key)
            if held and string.byte(held) == 100 then redis.call('HDEL', versions, key) end
            redis.call('ZREM', tombstones, key)
          end
        end
        local helds = #KEYS > 5 and redis.call('HMGET', versions, unpack(KEYS, 6, #KEYS)) or {}
        local seen, written, sets = {}, {}, {}
        -- Pending MSET values are flushed before any other write, so that writes to one key land in order.
        local function flush()
          if #sets > 0 then
            redis.call('MSET', unpack(sets))
            sets = {}
          end
        end
        local a = 9
        for i = 6, #KEYS do
          local key = KEYS[i]
          local version, op = ARGV[a], ARGV[a + 1]
          local n = op == 'j' and 1 or op == 'd' and 0 or tonumber(string.sub(op, 2))
          a = a + 2
          -- A key met earlier in the call is guarded by what that write left.
          local held = seen[key]
          if held == nil then
            held = helds[i - 5]
            -- Stores from before versions were kept as strings hold some as Lua wrote numbers ("1.5e+17").
            if held and string.find(held, 'e', 1, true) then held = string.format('%.0f', tonumber(held)) end
          end
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
                -- A deleted key has no fields left to clear.
                if not deleted then redis.call('DEL', key) end
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
        if ARGV[7] ~= '' then redis.call('SET', progressKey, ARGV[7]) elseif ARGV[8] ~= '' then redis.call('DEL', progressKey) end
        if above(ARGV[1], current) then redis.call('SET', offsetKey, ARGV[1]) end
        if above(fence, heldFence) then redis.call('SET', fenceKey, fence) end
        return 1
        """;
}

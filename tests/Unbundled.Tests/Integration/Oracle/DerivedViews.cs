using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace Unbundled.Tests.Integration.Oracle;

/// <summary>Views as the servers left them, read from Redis and from NDJSON files as any other tool could.</summary>
public static class DerivedViews
{
    /// <summary>Every Redis document under <paramref name="prefix"/>, by the rest of its key.</summary>
    public static async Task<Dictionary<string, JsonNode>> RedisAsync(string redis, string prefix)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var server = connection.GetServers()[0];
        var view = new Dictionary<string, JsonNode>();
        foreach (var key in server.Keys(pattern: prefix + "*", pageSize: 1000).ToList())
        {
            // A view still converging may delete a key between the scan and the read.
            if (await connection.GetDatabase().StringGetAsync(key) is { HasValue: true } value) view[key.ToString()[prefix.Length..]] = JsonNode.Parse(value.ToString())!;
        }
        return view;
    }

    /// <summary>The NDJSON sink's view in <paramref name="directory"/> and every committed write line (its writer stopped: it locks the files).</summary>
    public static (Dictionary<string, JsonNode> View, List<(string Key, long Version, long Position)> Writes) Journal(string directory)
    {
        var view = new Dictionary<string, JsonNode>();
        var writes = new List<(string Key, long Version, long Position)>();
        var pending = new List<JsonObject>();
        var files = new[] { "view.ndjson", "changes.ndjson" }.Select(f => Path.Combine(directory, f)).Where(File.Exists);
        foreach (var line in files.SelectMany(File.ReadLines))
        {
            var entry = JsonNode.Parse(line)!.AsObject();
            if (entry["offset"] is null) { pending.Add(entry); continue; }
            foreach (var change in pending)
            {
                var key = (string)change["key"]!;
                writes.Add((key, (long)change["version"]!, (long)change["position"]!));
                if ((string?)change["op"] == "delete") view.Remove(key);
                else view[key] = change["doc"]!.DeepClone();
            }
            pending.Clear();
        }
        return (view, writes);
    }

    /// <summary>
    /// Asserts the journal is <paramref name="expected"/> and shows each write once with positions only growing per key:
    /// it is append-only, so a write applied twice, a batch redone after a kill, or two writers at once would show.
    /// </summary>
    public static void AssertJournalOnce(string directory, IReadOnlyDictionary<string, JsonObject> expected)
    {
        var (journal, writes) = Journal(directory);
        Assert.Equal(expected.Keys.Order(), journal.Keys.Order());
        foreach (var (key, document) in expected) Assert.True(JsonNode.DeepEquals(document, journal[key]), $"{key}: {journal[key].ToJsonString()} != {document.ToJsonString()}");
        Assert.Equal(writes.Count, writes.Select(w => (w.Key, w.Version)).Distinct().Count());
        foreach (var byKey in writes.GroupBy(w => w.Key))
            Assert.True(byKey.Zip(byKey.Skip(1)).All(pair => pair.First.Position < pair.Second.Position), $"positions of {byKey.Key} go back");
    }
}

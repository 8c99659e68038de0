using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;

namespace Unbundled.Sdk.Testing;

/// <summary>
/// What every source connector must do, whatever it reads: change events in order with the Debezium
/// ops and documents, offsets that grow and from which a reader resumes with nothing missed or repeated,
/// versions that grow with each change of a key, a head to measure lag against, and a wait that ends
/// when the origin changes. Each source's tests derive from this and make changes at the origin as an
/// application would (flushes to the master, SQL on a table, messages on a topic).
/// </summary>
public abstract class SourceConnectorContract
{
    /// <summary>How long a wait for a change may take before the test fails.</summary>
    protected virtual TimeSpan ChangeTimeout => TimeSpan.FromSeconds(30);

    /// <summary>A connected reader of a source whose origin (a model type, a table, a topic) no other test uses.</summary>
    protected abstract Task<ISourceConnector> CreateSourceAsync(string origin);

    /// <summary>
    /// False for a source that resumes from a cursor it keeps (<see cref="ISourceConnector.KeepsPosition"/>): a new
    /// reader then resumes after what was acknowledged, not after any offset it is given.
    /// </summary>
    protected virtual bool ResumesFromAnyOffset => true;

    /// <summary>
    /// A new reader of <paramref name="origin"/>, as after a restart of the pipeline. By default beside
    /// <paramref name="running"/>; a source whose readers share a cursor (a consumer group) closes it first.
    /// </summary>
    protected virtual Task<ISourceConnector> RestartAsync(ISourceConnector running, string origin) => CreateSourceAsync(origin);

    /// <summary>Creates <paramref name="key"/> at the origin with the fields of <paramref name="row"/>.</summary>
    protected abstract Task CreateAsync(string origin, string key, JsonObject row);

    /// <summary>Replaces the fields of <paramref name="key"/> with those of <paramref name="row"/>.</summary>
    protected abstract Task UpdateAsync(string origin, string key, JsonObject row);

    /// <summary>Deletes <paramref name="key"/> at the origin.</summary>
    protected abstract Task DeleteAsync(string origin, string key);

    /// <summary>An origin name unique to the calling test (letters, digits and '_', starting with a letter).</summary>
    protected static string Origin([CallerMemberName] string test = "") =>
        $"o{new string(test.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(20).ToArray())}_{Guid.NewGuid():N}"[..34];

    private static JsonObject Row(string title, int n) => new() { ["title"] = title, ["n"] = n };

    /// <summary>Every record after <paramref name="after"/> up to the head, read <paramref name="pageSize"/> at a time.</summary>
    private static async Task<List<SourceRecord>> ReadToHeadAsync(ISourceConnector source, long after, int pageSize = 1000)
    {
        var head = await source.ReadHeadAsync(default);
        var records = new List<SourceRecord>();
        var offset = after;
        // A streaming source may answer a read before what it streams has arrived (a replication stream restarted
        // to read again from an earlier offset): it is waited for, up to a few seconds without progress.
        var stalledSince = DateTime.UtcNow;
        while (offset < head && DateTime.UtcNow - stalledSince < TimeSpan.FromSeconds(5))
        {
            var batch = await source.ReadAsync(offset, pageSize, default);
            Assert.True(batch.Records.Count <= pageSize, $"a read for {pageSize} records answered {batch.Records.Count}");
            if (batch.Offset <= offset)
            {
                await source.WaitAsync(offset, default).WaitAsync(TimeSpan.FromMilliseconds(200)).ContinueWith(_ => { }, TaskScheduler.Default);
                continue;
            }
            records.AddRange(batch.Records);
            offset = batch.Offset;
            stalledSince = DateTime.UtcNow;
        }
        return records;
    }

    [Fact]
    public async Task Changes_read_back_in_order_as_create_update_and_delete_events()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);

        await CreateAsync(origin, "a", Row("Milk", 1));
        await UpdateAsync(origin, "a", Row("Milk", 2));
        await CreateAsync(origin, "b", Row("Bread", 1));
        await DeleteAsync(origin, "a");

        var changes = (await ReadToHeadAsync(source, start)).Select(r => r.Change!).ToList();
        Assert.Equal([("a", ChangeOp.Create), ("a", ChangeOp.Update), ("b", ChangeOp.Create), ("a", ChangeOp.Delete)], changes.Select(c => (c.Key, c.Op)));
        Assert.All(changes, c => Assert.Equal(origin, c.Source.Table));
        Assert.Equal(("Milk", 1), ((string?)changes[0].After!["title"], (int)changes[0].After!["n"]!));
        Assert.Equal(2, (int)changes[1].After!["n"]!);
        Assert.Null(changes[3].After);
        // What a delete removed, when the source knows it, is the state the update left.
        if (changes[3].Before is { } removed) Assert.Equal(2, (int)removed["n"]!);
    }

    [Fact]
    public async Task Every_record_is_readable_and_carries_its_own_offset()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);

        await CreateAsync(origin, "a", Row("Milk", 1));
        await CreateAsync(origin, "b", Row("Bread", 1));

        var records = await ReadToHeadAsync(source, start);
        Assert.Equal(2, records.Count);
        Assert.All(records, r =>
        {
            Assert.NotNull(r.Change);
            Assert.Null(r.Reason);
            Assert.Equal(r.Offset, r.Change!.Source.Position);
            Assert.Equal(r.Key, r.Change.Key);
            Assert.True(r.Offset > start, $"offset {r.Offset} of a change made after the head was read is not past that head ({start})");
        });
    }

    [Fact]
    public async Task Offsets_grow_and_a_reader_resuming_from_any_of_them_misses_and_repeats_nothing()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);
        for (var i = 1; i <= 6; i++) await CreateAsync(origin, $"k{i}", Row($"item {i}", i));

        var all = await ReadToHeadAsync(source, start);
        Assert.Equal(["k1", "k2", "k3", "k4", "k5", "k6"], all.Select(r => r.Key));
        Assert.True(all.Zip(all.Skip(1)).All(pair => pair.First.Offset < pair.Second.Offset), "offsets do not grow strictly");
        foreach (var pageSize in new[] { 1, 2, 4 })
            Assert.Equal(all.Select(r => r.Offset), (await ReadToHeadAsync(source, start, pageSize)).Select(r => r.Offset));

        // A new reader, as after a restart, resumes after each offset with exactly the records past it.
        if (!ResumesFromAnyOffset) return;
        await using var restarted = await RestartAsync(source, origin);
        for (var i = 0; i < all.Count; i++)
            Assert.Equal(all.Skip(i + 1).Select(r => r.Key), (await ReadToHeadAsync(restarted, all[i].Offset)).Select(r => r.Key));
    }

    [Fact]
    public async Task The_version_guarding_sink_writes_grows_with_each_change_of_a_key()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);

        await CreateAsync(origin, "a", Row("v1", 1));
        await UpdateAsync(origin, "a", Row("v2", 2));
        await UpdateAsync(origin, "a", Row("v3", 3));
        await DeleteAsync(origin, "a");

        var versions = (await ReadToHeadAsync(source, start)).Select(r => r.Change!.Source.Version).ToList();
        Assert.Equal(4, versions.Count);
        Assert.True(versions.Zip(versions.Skip(1)).All(pair => pair.First < pair.Second), $"versions {string.Join(", ", versions)} do not grow");
    }

    [Fact]
    public async Task At_the_head_a_read_is_empty_and_a_wait_ends_with_the_next_change()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);
        await CreateAsync(origin, "a", Row("Milk", 1));
        var head = (await ReadToHeadAsync(source, start)).Single().Offset;

        var atHead = await source.ReadAsync(head, 100, default);
        Assert.Empty(atHead.Records);
        Assert.Equal(head, atHead.Offset);

        var waiting = source.WaitAsync(head, default);
        await CreateAsync(origin, "b", Row("Bread", 1));
        await waiting.WaitAsync(ChangeTimeout);
        var next = await ReadToHeadAsync(source, head);
        Assert.Equal(["b"], next.Select(r => r.Key));
    }

    [Fact]
    public async Task A_wait_ends_at_once_when_records_are_already_there()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);
        await CreateAsync(origin, "a", Row("Milk", 1));

        await source.WaitAsync(start, default).WaitAsync(ChangeTimeout);
    }

    [Fact]
    public async Task Acknowledging_an_offset_leaves_what_comes_after_it_readable()
    {
        var origin = Origin();
        await using var source = await CreateSourceAsync(origin);
        var start = await source.ReadHeadAsync(default);
        await CreateAsync(origin, "a", Row("Milk", 1));
        await CreateAsync(origin, "b", Row("Bread", 1));
        var first = (await ReadToHeadAsync(source, start))[0];

        await source.AcknowledgeAsync(first.Offset, default);

        await using var restarted = await RestartAsync(source, origin);
        Assert.Equal(["b"], (await ReadToHeadAsync(restarted, first.Offset)).Select(r => r.Key));
    }
}

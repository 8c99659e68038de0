using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Unbundled.Connectors.Ndjson;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Connectors.Ndjson;

/// <summary>The NDJSON file sink on real files in a directory of its own per test.</summary>
public sealed class NdjsonFileSinkTests : IAsyncLifetime
{
    private const long NoCompaction = 1L << 40;

    private readonly TempDirectory _directory = new();
    private readonly List<NdjsonFileSink> _sinks = [];

    private string Journal => _directory.File("changes.ndjson");

    private string Snapshot => _directory.File("view.ndjson");

    private async Task<NdjsonFileSink> OpenAsync(long compactAfterBytes = NoCompaction)
    {
        var sink = new NdjsonFileSink(
            new NdjsonFileOptions { Directory = _directory.Path, CompactAfterBytes = compactAfterBytes },
            NullLogger<NdjsonFileSink>.Instance);
        _sinks.Add(sink);
        await sink.ConnectAsync(default);
        return sink;
    }

    private async Task<NdjsonFileSink> RestartAsync(NdjsonFileSink sink, long compactAfterBytes = NoCompaction)
    {
        await sink.DisposeAsync();
        return await OpenAsync(compactAfterBytes);
    }

    private static SinkDocument Upsert(string key, long version, string title) =>
        SinkDocument.Upsert(key, version, version * 10, new JsonObject { ["title"] = title });

    private static SinkDocument Delete(string key, long version) => SinkDocument.Delete(key, version, version * 10);

    private static SinkBatch Batch(long offset, params SinkDocument[] documents) => new("todos", documents, offset);

    private static async Task<string?> TitleAsync(NdjsonFileSink sink, string key) =>
        (string?)(await sink.ReadAsync(key, default))?["title"];

    [Fact]
    public async Task Upserts_read_back_by_key_and_an_unknown_key_reads_null()
    {
        var sink = await OpenAsync();

        var result = await sink.WriteAsync(Batch(2, Upsert("a", 1, "milk"), Upsert("b", 1, "eggs")), default);

        Assert.Empty(result.Rejected);
        Assert.Equal("milk", await TitleAsync(sink, "a"));
        Assert.Equal("eggs", await TitleAsync(sink, "b"));
        Assert.Null(await sink.ReadAsync("c", default));
        Assert.True(sink.KeepsOffset);
    }

    [Fact]
    public async Task A_write_older_than_the_view_is_ignored()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(1, Upsert("a", 3, "new")), default);

        await sink.WriteAsync(Batch(2, Upsert("a", 2, "old")), default);

        Assert.Equal("new", await TitleAsync(sink, "a"));
    }

    [Fact]
    public async Task A_write_at_the_version_the_view_holds_changes_nothing()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(1, Upsert("a", 2, "first")), default);

        await sink.WriteAsync(Batch(1, Upsert("a", 2, "second")), default);

        Assert.Equal("first", await TitleAsync(sink, "a"));
    }

    [Fact]
    public async Task Within_one_batch_the_newest_version_of_a_key_wins_whatever_the_order()
    {
        var sink = await OpenAsync();

        await sink.WriteAsync(Batch(3, Upsert("a", 1, "one"), Upsert("a", 2, "two"), Upsert("b", 2, "two"), Upsert("b", 1, "one")), default);

        Assert.Equal("two", await TitleAsync(sink, "a"));
        Assert.Equal("two", await TitleAsync(sink, "b"));
    }

    [Fact]
    public async Task A_deleted_key_stays_deleted_when_an_older_update_is_replayed_even_after_restart_and_compaction()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(2, Upsert("a", 1, "milk"), Delete("a", 2)), default);

        await sink.WriteAsync(Batch(1, Upsert("a", 1, "milk")), default);
        Assert.Null(await sink.ReadAsync("a", default));

        sink = await RestartAsync(sink, compactAfterBytes: 1);
        await sink.WriteAsync(Batch(1, Upsert("a", 1, "milk")), default);
        Assert.Null(await sink.ReadAsync("a", default));

        await sink.WriteAsync(Batch(3, Upsert("a", 3, "bread")), default);
        Assert.Equal("bread", await TitleAsync(sink, "a"));
    }

    [Fact]
    public async Task Writing_the_same_batch_twice_leaves_the_same_view_and_appends_nothing()
    {
        var sink = await OpenAsync();
        var batch = Batch(5, Upsert("a", 1, "milk"), Upsert("b", 4, "eggs"), Delete("c", 2));
        await sink.WriteAsync(batch, default);
        var journalLength = new FileInfo(Journal).Length;

        await sink.WriteAsync(batch, default);

        Assert.Equal(journalLength, new FileInfo(Journal).Length);
        Assert.Equal("milk", await TitleAsync(sink, "a"));
        Assert.Equal("eggs", await TitleAsync(sink, "b"));
        Assert.Null(await sink.ReadAsync("c", default));
        Assert.Equal(5, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task The_offset_is_stored_with_each_batch_and_never_lowered()
    {
        var sink = await OpenAsync();
        Assert.Equal(0, await sink.LoadOffsetAsync(default));

        await sink.WriteAsync(Batch(10, Upsert("a", 1, "milk")), default);
        Assert.Equal(10, await sink.LoadOffsetAsync(default));

        await sink.WriteAsync(Batch(4, Upsert("b", 1, "eggs")), default);
        Assert.Equal(10, await sink.LoadOffsetAsync(default));
        Assert.Equal("eggs", await TitleAsync(sink, "b"));

        await sink.WriteAsync(Batch(12), default);
        Assert.Equal(12, await sink.LoadOffsetAsync(default));

        sink = await RestartAsync(sink);
        Assert.Equal(12, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task A_restart_on_the_same_directory_restores_the_view_and_the_offset()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(3, Upsert("a", 1, "milk"), Upsert("b", 1, "eggs")), default);
        await sink.WriteAsync(Batch(6, Upsert("a", 2, "oat milk"), Delete("b", 2)), default);

        sink = await RestartAsync(sink);

        Assert.Equal(6, await sink.LoadOffsetAsync(default));
        Assert.Equal("oat milk", await TitleAsync(sink, "a"));
        Assert.Null(await sink.ReadAsync("b", default));
        await sink.WriteAsync(Batch(6, Upsert("b", 1, "eggs")), default);
        Assert.Null(await sink.ReadAsync("b", default));
    }

    [Fact]
    public async Task A_torn_journal_tail_after_the_last_commit_is_discarded_on_restart()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(2, Upsert("a", 1, "milk")), default);
        await sink.DisposeAsync();
        // What a crash leaves: a batch committed after the snapshot, then one whose write was cut short.
        const string committed = """
            {"key":"b","version":1,"position":3,"op":"upsert","doc":{"title":"eggs"}}
            {"offset":3}

            """;
        await File.AppendAllTextAsync(Journal, committed + """
            {"key":"c","version":1,"position":4,"op":"upsert","doc":{"title":"bread"}}
            {"key":"a","version":2,"position":4,"op":"ups
            """);

        sink = await OpenAsync();

        Assert.Equal(3, await sink.LoadOffsetAsync(default));
        Assert.Equal("milk", await TitleAsync(sink, "a"));
        Assert.Equal("eggs", await TitleAsync(sink, "b"));
        Assert.Null(await sink.ReadAsync("c", default));
        Assert.Equal(committed.Length, new FileInfo(Journal).Length);

        await sink.WriteAsync(Batch(4, Upsert("c", 1, "bread"), Upsert("a", 2, "oat milk")), default);
        sink = await RestartAsync(sink);
        Assert.Equal("bread", await TitleAsync(sink, "c"));
        Assert.Equal("oat milk", await TitleAsync(sink, "a"));
        Assert.Equal(4, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task An_old_journal_left_beside_a_newer_snapshot_changes_nothing_on_restart()
    {
        var sink = await OpenAsync();
        await sink.WriteAsync(Batch(8, Upsert("a", 5, "oat milk")), default);
        await sink.DisposeAsync();
        // A crash between renaming the snapshot into place and emptying the journal.
        await File.WriteAllTextAsync(Journal, """
            {"key":"a","version":4,"position":7,"op":"upsert","doc":{"title":"milk"}}
            {"offset":7}

            """);

        sink = await OpenAsync();

        Assert.Equal("oat milk", await TitleAsync(sink, "a"));
        Assert.Equal(8, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task Compaction_empties_the_journal_and_keeps_the_view_across_restarts()
    {
        var sink = await OpenAsync(compactAfterBytes: 200);
        for (var version = 1; version <= 20; version++)
            await sink.WriteAsync(Batch(version, Upsert("a", version, $"title {version}"), Upsert($"k{version}", 1, "x")), default);
        await sink.WriteAsync(Batch(21, Delete("k1", 2)), default);

        Assert.True(new FileInfo(Journal).Length < 200 + 150);
        Assert.True(File.Exists(Snapshot));
        Assert.Equal("title 20", await TitleAsync(sink, "a"));

        sink = await RestartAsync(sink);

        Assert.Equal(0, new FileInfo(Journal).Length);
        // One line per key (21 keys, the tombstone of k1 among them), then the commit line.
        Assert.Equal(22, File.ReadAllLines(Snapshot).Length);
        Assert.Equal("title 20", await TitleAsync(sink, "a"));
        Assert.Equal("x", await TitleAsync(sink, "k20"));
        Assert.Null(await sink.ReadAsync("k1", default));
        Assert.Equal(21, await sink.LoadOffsetAsync(default));
        await sink.WriteAsync(Batch(21, Upsert("k1", 1, "x")), default);
        Assert.Null(await sink.ReadAsync("k1", default));
    }

    [Fact]
    public async Task An_upsert_without_a_document_is_rejected_and_the_rest_of_the_batch_applied()
    {
        var sink = await OpenAsync();
        var broken = new SinkDocument("b", 1, 1, null);

        var result = await sink.WriteAsync(Batch(1, Upsert("a", 1, "milk"), broken), default);

        var rejection = Assert.Single(result.Rejected);
        Assert.Same(broken, rejection.Document);
        Assert.Equal("milk", await TitleAsync(sink, "a"));
        Assert.Null(await sink.ReadAsync("b", default));
        Assert.Equal(1, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task A_second_sink_on_a_directory_in_use_is_refused()
    {
        await OpenAsync();

        await Assert.ThrowsAsync<SinkUnavailableException>(() => OpenAsync());
    }

    [Fact]
    public async Task Documents_read_back_exactly_as_written()
    {
        var sink = await OpenAsync();
        var document = new JsonObject
        {
            ["title"] = "line one\nline two \"quoted\" — ünïcode",
            ["done"] = false,
            ["tags"] = new JsonArray("a", "b"),
            ["nested"] = new JsonObject { ["n"] = 1.5 },
        };

        await sink.WriteAsync(Batch(1, SinkDocument.Upsert("a", 1, 1, document)), default);
        sink = await RestartAsync(sink);

        Assert.True(JsonNode.DeepEquals(document, await sink.ReadAsync("a", default)));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var sink in _sinks) await sink.DisposeAsync();
        _directory.Dispose();
    }
}

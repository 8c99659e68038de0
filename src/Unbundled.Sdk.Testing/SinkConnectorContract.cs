using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Sdk.Testing;

/// <summary>
/// What every sink connector must do, whatever it writes to: version-guarded idempotent writes,
/// tombstones, offsets that never go back. Each connector's tests derive from this and supply a
/// connected sink configured so that <see cref="ISinkConnector.ReadAsync"/> finds a document by its key.
/// </summary>
public abstract class SinkConnectorContract
{
    /// <summary>A connected sink for a pipeline no other test uses; a second call with the same name reaches the same view.</summary>
    protected abstract Task<ISinkConnector> CreateSinkAsync(string pipeline);

    /// <summary>Makes the view's store lose everything, as a Redis restarted without persistence, a deleted folder or a dropped index would.</summary>
    protected abstract Task LoseDataAsync(string pipeline);

    /// <summary>A pipeline name unique to the calling test.</summary>
    protected static string Pipeline([CallerMemberName] string test = "") =>
        $"{new string(test.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray())}-{Guid.NewGuid():N}"[..40];

    private static SinkDocument Doc(string key, long version, string title) =>
        SinkDocument.Upsert(key, version, version, new JsonObject { ["id"] = key, ["title"] = title });

    private static SinkBatch Batch(string pipeline, long offset, params SinkDocument[] documents) => new(pipeline, documents, offset);

    private static async Task<string?> TitleAsync(ISinkConnector sink, string key) => (string?)(await sink.ReadAsync(key, default))?["title"];

    [Fact]
    public async Task A_written_document_reads_back()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);

        await sink.WriteAsync(Batch(pipeline, 1, Doc("a", 1, "Milk")), default);

        Assert.Equal("Milk", await TitleAsync(sink, "a"));
        Assert.Null(await sink.ReadAsync("never-written", default));
    }

    [Fact]
    public async Task An_older_version_of_a_document_is_ignored()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);

        await sink.WriteAsync(Batch(pipeline, 5, Doc("a", 5, "new")), default);
        await sink.WriteAsync(Batch(pipeline, 6, Doc("a", 3, "old")), default);

        Assert.Equal("new", await TitleAsync(sink, "a"));
    }

    [Fact]
    public async Task The_same_version_written_again_changes_nothing()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);

        await sink.WriteAsync(Batch(pipeline, 2, Doc("a", 2, "first")), default);
        await sink.WriteAsync(Batch(pipeline, 2, Doc("a", 2, "second")), default);

        Assert.Equal("first", await TitleAsync(sink, "a"));
    }

    [Fact]
    public async Task A_delete_followed_by_a_replayed_older_update_stays_deleted()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);
        await sink.WriteAsync(Batch(pipeline, 1, Doc("a", 1, "x")), default);

        await sink.WriteAsync(Batch(pipeline, 3, SinkDocument.Delete("a", 3, 3, new JsonObject { ["id"] = "a" })), default);
        await sink.WriteAsync(Batch(pipeline, 3, Doc("a", 2, "replayed")), default);

        Assert.Null(await sink.ReadAsync("a", default));
    }

    [Fact]
    public async Task Replaying_a_batch_leaves_the_view_as_one_write_did()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);
        var batch = Batch(pipeline, 4, Doc("a", 1, "a1"), Doc("b", 2, "b2"), SinkDocument.Delete("a", 3, 3, new JsonObject { ["id"] = "a" }), Doc("c", 4, "c4"));

        await sink.WriteAsync(batch, default);
        await sink.WriteAsync(batch, default);

        Assert.Null(await sink.ReadAsync("a", default));
        Assert.Equal(("b2", "c4"), (await TitleAsync(sink, "b"), await TitleAsync(sink, "c")));
    }

    [Fact]
    public async Task Several_writes_of_one_key_in_a_batch_end_with_the_newest()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);

        await sink.WriteAsync(Batch(pipeline, 3, Doc("a", 1, "v1"), Doc("a", 3, "v3"), Doc("a", 2, "v2")), default);

        Assert.Equal("v3", await TitleAsync(sink, "a"));
    }

    [SkippableFact]
    public async Task A_kept_offset_follows_the_batches_and_never_goes_back()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);
        Skip.IfNot(sink.KeepsOffset, "this connector keeps no offset: the engine stores it");

        Assert.Equal(0, await sink.LoadOffsetAsync(default));
        await sink.WriteAsync(Batch(pipeline, 10, Doc("a", 1, "x")), default);
        Assert.Equal(10, await sink.LoadOffsetAsync(default));
        await sink.WriteAsync(Batch(pipeline, 7, Doc("a", 1, "x")), default);
        Assert.Equal(10, await sink.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task A_new_connector_on_the_same_view_finds_its_documents_and_offset()
    {
        var pipeline = Pipeline();
        await using (var first = await CreateSinkAsync(pipeline))
        {
            await first.WriteAsync(Batch(pipeline, 12, Doc("a", 12, "kept")), default);
        }
        await using var second = await CreateSinkAsync(pipeline);

        Assert.Equal("kept", await TitleAsync(second, "a"));
        if (second.KeepsOffset) Assert.Equal(12, await second.LoadOffsetAsync(default));
        await second.WriteAsync(Batch(pipeline, 13, Doc("a", 11, "stale")), default);
        Assert.Equal("kept", await TitleAsync(second, "a"));
    }

    [Fact]
    public async Task A_batch_of_a_thousand_documents_lands_whole()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);

        await sink.WriteAsync(new SinkBatch(pipeline, Enumerable.Range(1, 1000).Select(i => Doc($"k{i}", i, $"t{i}")).ToList(), 1000), default);

        Assert.Equal("t1", await TitleAsync(sink, "k1"));
        Assert.Equal("t1000", await TitleAsync(sink, "k1000"));
    }

    [Fact]
    public async Task A_store_that_lost_its_data_refuses_a_batch_based_on_more_and_says_what_it_holds()
    {
        var pipeline = Pipeline();
        await using var sink = await CreateSinkAsync(pipeline);
        await sink.WriteAsync(Batch(pipeline, 5, Doc("a", 5, "kept")) with { BasedOn = 0 }, default);
        await sink.WriteAsync(Batch(pipeline, 8, Doc("b", 8, "kept")) with { BasedOn = 5 }, default);

        await LoseDataAsync(pipeline);
        var lost = await Assert.ThrowsAsync<SinkDataLostException>(() => sink.WriteAsync(Batch(pipeline, 9, Doc("c", 9, "on top")) with { BasedOn = 8 }, default));

        // The engine replays from what the store holds; the view is whole again.
        Assert.Equal(0, lost.HeldOffset);
        await sink.WriteAsync(Batch(pipeline, 9, Doc("a", 5, "kept"), Doc("b", 8, "kept"), Doc("c", 9, "on top")) with { BasedOn = lost.HeldOffset }, default);
        Assert.Equal(("kept", "kept", "on top"), (await TitleAsync(sink, "a"), await TitleAsync(sink, "b"), await TitleAsync(sink, "c")));
        if (sink.KeepsOffset) Assert.Equal(9, await sink.LoadOffsetAsync(default));
    }
}

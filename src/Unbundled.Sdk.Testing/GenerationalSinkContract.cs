using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Sdk.Testing;

/// <summary>
/// What a rebuildable sink adds to the contract: generations of one view that do not see each other,
/// activation, and dropping one generation without touching another.
/// </summary>
public abstract class GenerationalSinkContract : SinkConnectorContract
{
    /// <summary>A connected sink writing generation <paramref name="generation"/> of the pipeline's view.</summary>
    protected abstract Task<IGenerationalSink> CreateGenerationAsync(string pipeline, int generation);

    /// <summary>
    /// Reads <paramref name="key"/> as an outside reader does: through the alias or pointer that
    /// activation moves, never by a generation's own name.
    /// </summary>
    protected abstract Task<JsonObject?> ReadActiveAsync(string pipeline, string key);

    /// <inheritdoc />
    protected override async Task<ISinkConnector> CreateSinkAsync(string pipeline) => await CreateGenerationAsync(pipeline, 0);

    private static SinkBatch Batch(string pipeline, long offset, params (string Key, string Title)[] documents) =>
        new(pipeline, documents.Select((d, i) => SinkDocument.Upsert(d.Key, offset, offset, new JsonObject { ["id"] = d.Key, ["title"] = d.Title })).ToList(), offset);

    [Fact]
    public async Task A_new_generation_starts_empty_and_writing_it_leaves_the_live_one_alone()
    {
        var pipeline = Pipeline();
        await using var live = await CreateGenerationAsync(pipeline, 0);
        await live.WriteAsync(Batch(pipeline, 5, ("a", "live")), default);

        await using var next = await CreateGenerationAsync(pipeline, 1);
        Assert.Null(await next.ReadAsync("a", default));
        if (next.KeepsOffset) Assert.Equal(0, await next.LoadOffsetAsync(default));
        await next.WriteAsync(Batch(pipeline, 3, ("a", "rebuilt"), ("b", "rebuilt")), default);

        Assert.Equal("live", (string?)(await live.ReadAsync("a", default))!["title"]);
        Assert.Null(await live.ReadAsync("b", default));
        Assert.Equal("rebuilt", (string?)(await next.ReadAsync("a", default))!["title"]);
        if (live.KeepsOffset) Assert.Equal(5, await live.LoadOffsetAsync(default));
    }

    [Fact]
    public async Task Dropping_the_old_generation_after_activating_the_new_one_keeps_the_new_one_whole()
    {
        var pipeline = Pipeline();
        await using var old = await CreateGenerationAsync(pipeline, 0);
        await old.WriteAsync(Batch(pipeline, 1, ("a", "old"), ("gone", "old")), default);
        await using var next = await CreateGenerationAsync(pipeline, 1);
        await next.WriteAsync(Batch(pipeline, 1, ("a", "new")), default);

        Assert.Equal("old", (string?)(await ReadActiveAsync(pipeline, "a"))?["title"]);
        await next.ActivateAsync(default);
        Assert.Equal("new", (string?)(await ReadActiveAsync(pipeline, "a"))?["title"]);
        Assert.Null(await ReadActiveAsync(pipeline, "gone"));
        await old.DropAsync(default);

        Assert.Equal("new", (string?)(await ReadActiveAsync(pipeline, "a"))?["title"]);
        Assert.Equal("new", (string?)(await next.ReadAsync("a", default))!["title"]);
        await using var reopened = await CreateGenerationAsync(pipeline, 0);
        Assert.Null(await reopened.ReadAsync("gone", default));
        Assert.Null(await reopened.ReadAsync("a", default));
    }
}

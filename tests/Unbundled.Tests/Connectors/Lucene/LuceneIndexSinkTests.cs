using System.Text.Json.Nodes;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Unbundled.Connectors.Lucene;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Testing;

namespace Unbundled.Tests.Connectors.Lucene;

/// <summary>The sink contract on a real Lucene index in a temporary folder.</summary>
public sealed class LuceneIndexSinkContractTests : GenerationalSinkContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<IGenerationalSink> CreateGenerationAsync(string pipeline, int generation)
    {
        var sink = new LuceneIndexSink(pipeline, new LuceneIndexOptions { Directory = Path.Combine(_directory.Path, "{pipeline}") }, generation);
        await sink.ConnectAsync(default);
        return sink;
    }

    /// <summary>
    /// Another process finds the live generation through the <c>active-generation</c> file and reads that
    /// folder's last commit with a plain Lucene reader (stored fields <c>_id</c>, <c>_source</c>, <c>_deleted</c>).
    /// </summary>
    protected override async Task<JsonObject?> ReadActiveAsync(string pipeline, string key)
    {
        var root = Path.Combine(_directory.Path, pipeline);
        var pointer = Path.Combine(root, "active-generation");
        var generation = File.Exists(pointer) ? int.Parse(await File.ReadAllTextAsync(pointer)) : 0;
        using var folder = FSDirectory.Open(generation == 0 ? root : Path.Combine(root, $"generation-{generation}"));
        using var reader = DirectoryReader.Open(folder);
        var hits = new IndexSearcher(reader).Search(new TermQuery(new Term("_id", key)), 1);
        if (hits.TotalHits == 0) return null;
        var stored = reader.Document(hits.ScoreDocs[0].Doc);
        return stored.Get("_deleted") is null ? JsonNode.Parse(stored.Get("_source"))!.AsObject() : null;
    }

    protected override Task LoseDataAsync(string pipeline)
    {
        System.IO.Directory.Delete(Path.Combine(_directory.Path, pipeline), recursive: true);
        return Task.CompletedTask;
    }

    public void Dispose() => _directory.Dispose();
}

public sealed class LuceneIndexSinkTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private LuceneIndexSink _sink = null!;

    public async Task InitializeAsync()
    {
        _sink = new LuceneIndexSink("todos", new LuceneIndexOptions { Directory = _directory.Path, Analyzer = LuceneAnalyzer.English });
        await _sink.ConnectAsync(default);
        await _sink.WriteAsync(new SinkBatch("todos", [
            Todo("a", 1, "Buy fresh milk", done: false),
            Todo("b", 2, "Running shoes for the marathon", done: true),
            Todo("c", 3, "Call the plumber about the leaking sink", done: false),
        ], 3), default);
    }

    private static SinkDocument Todo(string key, long version, string title, bool done) =>
        SinkDocument.Upsert(key, version, version, new JsonObject { ["title"] = title, ["done"] = done, ["list"] = "home" });

    [Fact]
    public async Task Full_text_queries_find_documents_through_the_analyzer()
    {
        var run = await _sink.SearchAsync(new("run", 10), default);
        var both = await _sink.SearchAsync(new("title:milk OR title:plumber", 10), default);

        Assert.Equal(["b"], run.Hits.Select(h => h.Key));
        Assert.Equal("Running shoes for the marathon", (string?)run.Hits[0].Document["title"]);
        Assert.Equal(["a", "c"], both.Hits.Select(h => h.Key).Order());
    }

    [Fact]
    public async Task Scalars_are_exact_terms_under_their_keyword_field()
    {
        var open = await _sink.SearchAsync(new("list.keyword:home AND done.keyword:false", 10), default);

        Assert.Equal(2, open.Total);
    }

    [Fact]
    public async Task An_embedded_objects_fields_are_searched_under_dotted_names_and_an_arrays_items_under_its_own()
    {
        // A joined view embeds its row (the author's profile); a collected aggregate holds an array.
        await _sink.WriteAsync(new SinkBatch("todos", [SinkDocument.Upsert("d", 4, 4, new JsonObject
        {
            ["title"] = "Water the plants",
            ["author"] = new JsonObject { ["name"] = "Alice Liddell", ["team"] = new JsonObject { ["id"] = 7 } },
            ["tags"] = new JsonArray("garden", "weekly"),
        })], 4), default);

        Assert.Equal(["d"], (await _sink.SearchAsync(new("author.name:liddell", 10), default)).Hits.Select(h => h.Key));
        Assert.Equal(["d"], (await _sink.SearchAsync(new("author.team.id.keyword:7 AND tags.keyword:weekly", 10), default)).Hits.Select(h => h.Key));
        Assert.Equal(["d"], (await _sink.SearchAsync(new("alice", 10), default)).Hits.Select(h => h.Key));
    }

    [Fact]
    public async Task Deleted_documents_disappear_from_searches_at_once()
    {
        await _sink.WriteAsync(new SinkBatch("todos", [SinkDocument.Delete("a", 4, 4)], 4), default);

        Assert.Equal(0, (await _sink.SearchAsync(new("milk", 10), default)).Total);
    }

    [Fact]
    public async Task A_query_that_does_not_parse_is_refused_with_the_reason()
    {
        var error = await Assert.ThrowsAsync<InvalidQueryException>(() => _sink.SearchAsync(new("title:(milk", 10), default));

        Assert.StartsWith("'title:(milk' is not a Lucene query", error.Message);
    }

    [Fact]
    public async Task Batches_are_searchable_at_once_and_committed_with_their_offset_once_the_commit_interval_ends()
    {
        using var folder = new TempDirectory();
        await using var sink = new LuceneIndexSink("todos", new LuceneIndexOptions { Directory = folder.Path, CommitInterval = TimeSpan.FromSeconds(2) });
        await sink.ConnectAsync(default);
        await sink.WriteAsync(new SinkBatch("todos", [Todo("a", 1, "first", done: false)], 1), default);
        await sink.WriteAsync(new SinkBatch("todos", [Todo("b", 2, "second", done: false)], 2), default);

        // The first batch committed at once; the second came within the interval after it: searchable, not yet committed.
        Assert.Equal(["a", "b"], (await sink.SearchAsync(new("*:*", 10), default)).Hits.Select(h => h.Key).Order());
        Assert.Equal(2, await sink.LoadOffsetAsync(default));
        Assert.Equal("1", CommittedOffset(folder.Path));
        // The interval's end commits it, with no batch to carry it.
        for (var waited = 0; CommittedOffset(folder.Path) != "2"; waited += 50)
        {
            Assert.True(waited < 10_000, "the interval's end committed nothing");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_commit_interval_of_zero_commits_every_batch()
    {
        using var folder = new TempDirectory();
        await using var sink = new LuceneIndexSink("todos", new LuceneIndexOptions { Directory = folder.Path, CommitInterval = TimeSpan.Zero });
        await sink.ConnectAsync(default);
        await sink.WriteAsync(new SinkBatch("todos", [Todo("a", 1, "first", done: false)], 1), default);
        await sink.WriteAsync(new SinkBatch("todos", [Todo("b", 2, "second", done: false)], 2), default);

        Assert.Equal("2", CommittedOffset(folder.Path));
    }

    // What another process, or this one after a crash, would find: the offset of the index's last commit.
    private static string? CommittedOffset(string path)
    {
        using var folder = FSDirectory.Open(path);
        var newest = DirectoryReader.ListCommits(folder).MaxBy(c => c.Generation)!;
        return newest.UserData.TryGetValue("unbundled.offset", out var offset) ? offset : null;
    }

    public async Task DisposeAsync()
    {
        await _sink.DisposeAsync();
        _directory.Dispose();
    }
}

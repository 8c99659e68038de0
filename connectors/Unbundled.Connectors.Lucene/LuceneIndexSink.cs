using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.Util;
using Lucene.Net.Documents;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Unbundled.Sdk.Sinks;
using LuceneDirectory = Lucene.Net.Store.Directory;

namespace Unbundled.Connectors.Lucene;

/// <summary>
/// An embedded full-text index of derived documents in a Lucene.NET directory. Each document keeps
/// its key (<c>_id</c>), version (<c>_version</c>) and JSON (<c>_source</c>); its string fields are
/// analysed for search, each under its own name and all together under <c>_all</c>, and every scalar
/// is also indexed as an exact term under <c>name.keyword</c>. A delete leaves a tombstone so that
/// replayed older writes stay ignored. Each batch ends with one Lucene commit carrying the
/// pipeline's offset in its commit data: writes and offset are durable together or not at all.
/// Readers see each batch as soon as it is committed (near-real-time searcher refresh).
/// </summary>
public sealed class LuceneIndexSink(string pipeline, LuceneIndexOptions options, int generation = 0) : IGenerationalSink, ISearchableSink
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private const string IdField = "_id";
    private const string VersionField = "_version";
    private const string SourceField = "_source";
    private const string DeletedField = "_deleted";
    private const string AllField = "_all";
    private const string OffsetKey = "unbundled.offset";

    private readonly string _root = options.Directory.Replace("{pipeline}", pipeline);
    private readonly string _path = generation == 0
        ? options.Directory.Replace("{pipeline}", pipeline)
        : Path.Combine(options.Directory.Replace("{pipeline}", pipeline), $"generation-{generation}");
    private LuceneDirectory? _directory;
    private Analyzer? _analyzer;
    private IndexWriter? _writer;
    private SearcherManager? _searchers;

    /// <inheritdoc />
    public bool KeepsOffset => true;

    /// <summary>The index folder.</summary>
    public string IndexPath => _path;

    /// <inheritdoc />
    public Task ConnectAsync(CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(_path);
        _analyzer = new KeywordSuffixAnalyzer(CreateAnalyzer(options.Analyzer));
        _directory = FSDirectory.Open(_path);
        _writer = new IndexWriter(_directory, new IndexWriterConfig(Version, _analyzer) { OpenMode = OpenMode.CREATE_OR_APPEND });
        _searchers = new SearcherManager(_writer, applyAllDeletes: true, searcherFactory: null);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Writer.CommitData.TryGetValue(OffsetKey, out var offset) ? long.Parse(offset, CultureInfo.InvariantCulture) : 0L);

    /// <inheritdoc />
    public Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        var writer = Writer;
        var searchers = _searchers!;
        var searcher = searchers.Acquire();
        try
        {
            var written = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var document in batch.Documents)
            {
                var held = written.TryGetValue(document.Key, out var pending) ? pending : HeldVersion(searcher, document.Key);
                if (document.Version <= held) continue;
                writer.UpdateDocument(new Term(IdField, document.Key), document.IsDelete ? Tombstone(document) : Build(document));
                written[document.Key] = document.Version;
            }
        }
        finally
        {
            searchers.Release(searcher);
        }

        var offset = Math.Max(batch.Offset, Writer.CommitData.TryGetValue(OffsetKey, out var kept) ? long.Parse(kept, CultureInfo.InvariantCulture) : 0);
        writer.SetCommitData(new Dictionary<string, string> { [OffsetKey] = offset.ToString(CultureInfo.InvariantCulture) });
        writer.Commit();
        searchers.MaybeRefreshBlocking();
        return Task.FromResult(SinkBatchResult.Success);
    }

    /// <inheritdoc />
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var searchers = _searchers ?? throw new InvalidOperationException("The Lucene sink is not connected.");
        var searcher = searchers.Acquire();
        try
        {
            var hits = searcher.Search(new TermQuery(new Term(IdField, key)), 1);
            if (hits.TotalHits == 0) return Task.FromResult<JsonObject?>(null);
            var stored = searcher.Doc(hits.ScoreDocs[0].Doc);
            return Task.FromResult(stored.Get(DeletedField) is null ? JsonNode.Parse(stored.Get(SourceField)) as JsonObject : null);
        }
        finally
        {
            searchers.Release(searcher);
        }
    }

    /// <inheritdoc />
    public Task<SearchResult> SearchAsync(string query, int limit, CancellationToken cancellationToken)
    {
        var searchers = _searchers ?? throw new InvalidOperationException("The Lucene sink is not connected.");
        Query parsed;
        try
        {
            parsed = new QueryParser(Version, AllField, _analyzer) { DefaultOperator = Operator.AND }.Parse(query);
        }
        catch (ParseException error)
        {
            throw new InvalidQueryException($"'{query}' is not a Lucene query: {error.Message}", error);
        }
        var live = new BooleanQuery { { parsed, Occur.MUST }, { new TermQuery(new Term(DeletedField, "1")), Occur.MUST_NOT } };
        var searcher = searchers.Acquire();
        try
        {
            var top = searcher.Search(live, Math.Max(1, limit));
            var hits = top.ScoreDocs
                .Select(hit => (Stored: searcher.Doc(hit.Doc), hit.Score))
                .Select(hit => new SearchHit(hit.Stored.Get(IdField), hit.Score, (JsonObject)JsonNode.Parse(hit.Stored.Get(SourceField))!))
                .ToList();
            return Task.FromResult(new SearchResult(top.TotalHits, hits));
        }
        finally
        {
            searchers.Release(searcher);
        }
    }

    /// <inheritdoc />
    /// <remarks>Readers in this process switch with the pipeline's sink; the file <c>active-generation</c> tells others.</remarks>
    public async Task ActivateAsync(CancellationToken cancellationToken) =>
        await File.WriteAllTextAsync(Path.Combine(_root, "active-generation"), generation.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async Task DropAsync(CancellationToken cancellationToken)
    {
        await DisposeAsync().ConfigureAwait(false);
        if (generation == 0)
        {
            // Generation 0 shares its folder with the later generations' subfolders: remove only its own files.
            foreach (var file in System.IO.Directory.EnumerateFiles(_path).Where(f => Path.GetFileName(f) != "active-generation")) File.Delete(file);
        }
        else if (System.IO.Directory.Exists(_path))
        {
            System.IO.Directory.Delete(_path, recursive: true);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _searchers?.Dispose();
        _writer?.Dispose();
        _directory?.Dispose();
        _analyzer?.Dispose();
        _searchers = null;
        _writer = null;
        return ValueTask.CompletedTask;
    }

    private IndexWriter Writer => _writer ?? throw new InvalidOperationException("The Lucene sink is not connected.");

    private static long HeldVersion(IndexSearcher searcher, string key)
    {
        var hits = searcher.Search(new TermQuery(new Term(IdField, key)), 1);
        return hits.TotalHits == 0 ? 0 : searcher.Doc(hits.ScoreDocs[0].Doc).GetField(VersionField).GetInt64Value() ?? 0;
    }

    private static Document Tombstone(SinkDocument document) =>
    [
        new StringField(IdField, document.Key, Field.Store.YES),
        new StoredField(VersionField, document.Version),
        new StringField(DeletedField, "1", Field.Store.YES),
    ];

    private static Document Build(SinkDocument document)
    {
        var indexed = new Document
        {
            new StringField(IdField, document.Key, Field.Store.YES),
            new StoredField(VersionField, document.Version),
            new StoredField(SourceField, document.Document!.ToJsonString()),
        };
        foreach (var (name, value) in document.Document!)
        {
            if (value is null) continue;
            switch (value.GetValueKind())
            {
                case JsonValueKind.String:
                    var text = value.GetValue<string>();
                    indexed.Add(new TextField(name, text, Field.Store.NO));
                    indexed.Add(new TextField(AllField, text, Field.Store.NO));
                    indexed.Add(new StringField(name + ".keyword", text, Field.Store.NO));
                    break;
                case JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False:
                    indexed.Add(new StringField(name + ".keyword", value.ToJsonString(), Field.Store.NO));
                    indexed.Add(new StringField(name, value.ToJsonString(), Field.Store.NO));
                    break;
            }
        }
        return indexed;
    }

    private static Analyzer CreateAnalyzer(LuceneAnalyzer analyzer) => analyzer switch
    {
        LuceneAnalyzer.English => new EnglishAnalyzer(Version),
        LuceneAnalyzer.Whitespace => new WhitespaceAnalyzer(Version),
        LuceneAnalyzer.Keyword => new KeywordAnalyzer(),
        _ => new StandardAnalyzer(Version, CharArraySet.Empty),
    };
}

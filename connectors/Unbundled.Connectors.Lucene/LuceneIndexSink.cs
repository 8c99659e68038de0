using System.Globalization;
using System.Text.Json.Nodes;
using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.En;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.Util;
using Lucene.Net.Index;
using Lucene.Net.QueryParsers.Classic;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Lucene.Net.Util;
using Unbundled.Sdk.Sinks;
using static Unbundled.Connectors.Lucene.IndexedDocuments;
using LuceneDirectory = Lucene.Net.Store.Directory;

namespace Unbundled.Connectors.Lucene;

/// <summary>
/// An embedded full-text index of derived documents in a Lucene.NET directory. Each document keeps
/// its key (<c>_id</c>), version (<c>_version</c>) and JSON (<c>_source</c>); its string fields are
/// analysed for search, each under its own name and all together under <c>_all</c>, and every scalar
/// is also indexed as an exact term under <c>name.keyword</c>. A delete leaves a tombstone so that
/// replayed older writes stay ignored. A Lucene commit carries the pipeline's offset in its commit
/// data, at most once per <see cref="LuceneIndexOptions.CommitInterval"/> (<see cref="IntervalCommits"/>):
/// writes and offset are durable together or not at all. Readers see each batch as soon as it is
/// written (near-real-time searcher refresh on the next read).
/// </summary>
public sealed class LuceneIndexSink(string pipeline, LuceneIndexOptions options, int generation = 0) : IGenerationalSink, ISearchableSink
{
    private const LuceneVersion Version = LuceneVersion.LUCENE_48;
    private const int MaxUnrefreshedVersions = 100_000;

    private readonly string _root = options.Directory.Replace("{pipeline}", pipeline);
    private readonly string _path = generation == 0
        ? options.Directory.Replace("{pipeline}", pipeline)
        : Path.Combine(options.Directory.Replace("{pipeline}", pipeline), $"generation-{generation}");
    private LuceneDirectory? _directory;
    private Analyzer? _analyzer;
    private IndexWriter? _writer;
    private IntervalCommits? _commits;
    private SearcherManager? _searchers;

    /// <summary>
    /// Versions written since the writer last refreshed the searcher itself. Searchers refresh when
    /// someone reads, not after every batch, so a generation that nobody reads yet (a rebuild) does
    /// not pay for opening a reader per batch; the writer looks here first for what it wrote since.
    /// </summary>
    private readonly Dictionary<string, long> _unrefreshedVersions = new(StringComparer.Ordinal);
    private readonly System.Threading.Lock _refreshLock = new();
    private bool _stale;

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
        _commits = new IntervalCommits(_writer, options.CommitInterval);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<long> LoadOffsetAsync(CancellationToken cancellationToken) => Task.FromResult(Commits.Offset);

    /// <inheritdoc />
    public async Task<SinkBatchResult> WriteAsync(SinkBatch batch, CancellationToken cancellationToken)
    {
        if (batch.BasedOn > 0 && (!System.IO.Directory.Exists(_path) || !DirectoryReader.IndexExists(_directory)))
        {
            // The index folder was deleted under the open writer: start an empty index and have the engine replay.
            // What the writer holds uncommitted goes with it (a rollback, rather than the commit a close makes).
            _commits?.Dispose();
            try
            {
                _writer?.Rollback();
            }
            catch (Exception error) when (error is IOException or ObjectDisposedException)
            {
                // The files the rollback would tidy are gone already.
            }
            await DisposeAsync().ConfigureAwait(false);
            _unrefreshedVersions.Clear();
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            throw new SinkDataLostException(0, $"the Lucene index in {_path} was removed");
        }
        return Write(batch);
    }

    private SinkBatchResult Write(SinkBatch batch)
    {
        Commits.Write(() => Apply(batch), batch.Offset);
        Volatile.Write(ref _stale, true);
        if (_unrefreshedVersions.Count >= MaxUnrefreshedVersions)
        {
            Refresh();
            _unrefreshedVersions.Clear();
        }
        return SinkBatchResult.Success;
    }

    private void Apply(SinkBatch batch)
    {
        var writer = Writer;
        // Only the newest write of a key in a batch reaches the index: a rebuild replays every
        // intermediate version of a model, and analysing each of them would be wasted work.
        var latest = new Dictionary<string, SinkDocument>(StringComparer.Ordinal);
        foreach (var document in batch.Documents)
        {
            if (!latest.TryGetValue(document.Key, out var seen) || document.Version > seen.Version) latest[document.Key] = document;
        }

        var searcher = _searchers!.Acquire();
        try
        {
            foreach (var document in latest.Values)
            {
                if (document.Version <= HeldVersion(searcher, document.Key)) continue;
                writer.UpdateDocument(new Term(IdField, document.Key), document.IsDelete ? Tombstone(document) : Build(document));
                _unrefreshedVersions[document.Key] = document.Version;
            }
        }
        finally
        {
            _searchers.Release(searcher);
        }
    }

    /// <inheritdoc />
    public Task<JsonObject?> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var searchers = _searchers ?? throw new InvalidOperationException("The Lucene sink is not connected.");
        var searcher = AcquireFresh(searchers);
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
    public Task<SearchResult> SearchAsync(SearchRequest request, CancellationToken cancellationToken)
    {
        var searchers = _searchers ?? throw new InvalidOperationException("The Lucene sink is not connected.");
        cancellationToken.ThrowIfCancellationRequested();
        Query parsed;
        try
        {
            // Leading wildcards stay refused (the parser's default): they would scan every term of the index.
            parsed = new QueryParser(Version, AllField, _analyzer) { DefaultOperator = Operator.AND, AllowLeadingWildcard = false }.Parse(request.Query);
        }
        catch (Exception error) when (error is ParseException or BooleanQuery.TooManyClausesException)
        {
            throw new InvalidQueryException($"'{request.Query}' is not a Lucene query this view answers: {error.Message}", error);
        }
        var live = new BooleanQuery { { parsed, Occur.MUST }, { new TermQuery(new Term(DeletedField, "1")), Occur.MUST_NOT } };
        // The owner filter is part of the query itself, so counts and pages cover only what the caller may see.
        Query scoped = request.Filter is not { } filter ? live : new FilteredQuery(live, new QueryWrapperFilter(new TermQuery(new Term(filter.Field + ".keyword", filter.Value))));
        var searcher = AcquireFresh(searchers);
        try
        {
            var top = TopScoreDocCollector.Create(Math.Max(1, request.From + request.Limit), true);
            try
            {
                // A time budget, so that one costly query (wildcards over many terms) cannot hold a core.
                searcher.Search(scoped, new TimeLimitingCollector(top, TimeLimitingCollector.GlobalCounter, (long)options.SearchBudget.TotalMilliseconds));
            }
            catch (TimeLimitingCollector.TimeExceededException)
            {
                throw new InvalidQueryException($"'{request.Query}' took longer than the {options.SearchBudget.TotalMilliseconds:0} ms a search may take; narrow it");
            }
            catch (BooleanQuery.TooManyClausesException error)
            {
                throw new InvalidQueryException($"'{request.Query}' expands to too many terms: {error.Message}", error);
            }
            var docs = top.GetTopDocs(request.From, request.Limit);
            var hits = docs.ScoreDocs
                .Select(hit => (Stored: searcher.Doc(hit.Doc), hit.Score))
                .Select(hit => new SearchHit(hit.Stored.Get(IdField), hit.Score, (JsonObject)JsonNode.Parse(hit.Stored.Get(SourceField))!))
                .ToList();
            return Task.FromResult(new SearchResult(docs.TotalHits, hits));
        }
        finally
        {
            searchers.Release(searcher);
        }
    }

    /// <inheritdoc />
    /// <remarks>Readers in this process switch with the pipeline's sink; the file <c>active-generation</c> tells others.</remarks>
    public async Task ActivateAsync(CancellationToken cancellationToken)
    {
        Commits.CommitNow();
        await File.WriteAllTextAsync(Path.Combine(_root, "active-generation"), generation.ToString(CultureInfo.InvariantCulture), cancellationToken).ConfigureAwait(false);
    }

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
        _commits?.Dispose();
        _searchers?.Dispose();
        // Closing commits what the last interval left uncommitted, with its offset.
        _writer?.Dispose();
        _directory?.Dispose();
        _analyzer?.Dispose();
        _searchers = null;
        _writer = null;
        _commits = null;
        return ValueTask.CompletedTask;
    }

    private IndexWriter Writer => _writer ?? throw new InvalidOperationException("The Lucene sink is not connected.");

    private IntervalCommits Commits => _commits ?? throw new InvalidOperationException("The Lucene sink is not connected.");

    /// <summary>A searcher that sees every committed batch, refreshed on the first read after a write.</summary>
    private IndexSearcher AcquireFresh(SearcherManager searchers)
    {
        if (Volatile.Read(ref _stale)) Refresh();
        return searchers.Acquire();
    }

    private void Refresh()
    {
        lock (_refreshLock)
        {
            if (!_stale) return;
            _stale = false;
            _searchers!.MaybeRefreshBlocking();
        }
    }

    private long HeldVersion(IndexSearcher searcher, string key)
    {
        if (_unrefreshedVersions.TryGetValue(key, out var written)) return written;
        var hits = searcher.Search(new TermQuery(new Term(IdField, key)), 1);
        return hits.TotalHits == 0 ? 0 : searcher.Doc(hits.ScoreDocs[0].Doc).GetField(VersionField).GetInt64Value() ?? 0;
    }

    private static Analyzer CreateAnalyzer(LuceneAnalyzer analyzer) => analyzer switch
    {
        LuceneAnalyzer.English => new EnglishAnalyzer(Version),
        LuceneAnalyzer.Whitespace => new WhitespaceAnalyzer(Version),
        LuceneAnalyzer.Keyword => new KeywordAnalyzer(),
        _ => new StandardAnalyzer(Version, CharArraySet.Empty),
    };
}

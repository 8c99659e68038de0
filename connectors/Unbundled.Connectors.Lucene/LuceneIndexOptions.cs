namespace Unbundled.Connectors.Lucene;

/// <summary>Which Lucene analyzer splits and normalises text.</summary>
public enum LuceneAnalyzer
{
    /// <summary>Unicode word breaks, lower case, no stop words: a good default for any language.</summary>
    Standard,

    /// <summary>Standard plus English stop words and stemming ("running" finds "run").</summary>
    English,

    /// <summary>Splits on white space only, keeps case.</summary>
    Whitespace,

    /// <summary>The whole value is one term: exact matches only.</summary>
    Keyword,
}

/// <summary>The options of a <c>lucene</c> sink in pipelines.yaml.</summary>
public sealed class LuceneIndexOptions
{
    /// <summary>The index folder; <c>{pipeline}</c> is replaced by the pipeline's name.</summary>
    public string Directory { get; set; } = "data/lucene/{pipeline}";

    /// <summary>How text fields are analysed, for indexing and for queries alike.</summary>
    public LuceneAnalyzer Analyzer { get; set; } = LuceneAnalyzer.Standard;

    /// <summary>
    /// How long written batches may wait for a Lucene commit (zero: each batch commits). Readers see a batch at once;
    /// after a crash the engine replays what was not committed.
    /// </summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest one search may run before it is refused as too costly.</summary>
    public TimeSpan SearchBudget { get; set; } = TimeSpan.FromSeconds(2);
}

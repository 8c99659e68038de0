using Lucene.Net.Analysis;
using Lucene.Net.Analysis.Core;

namespace Unbundled.Connectors.Lucene;

/// <summary>
/// Analyses <c>*.keyword</c> fields as single exact terms and every other field with the configured
/// analyzer, so that queries like <c>done.keyword:false</c> are not stemmed or lower-cased.
/// </summary>
internal sealed class KeywordSuffixAnalyzer(Analyzer text) : AnalyzerWrapper(PER_FIELD_REUSE_STRATEGY)
{
    private readonly Analyzer _keyword = new KeywordAnalyzer();

    protected override Analyzer GetWrappedAnalyzer(string fieldName) =>
        fieldName.EndsWith(".keyword", StringComparison.Ordinal) ? _keyword : text;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _keyword.Dispose();
            text.Dispose();
        }
        base.Dispose(disposing);
    }
}

using System.Text;

namespace Unbundled.Tests.Connectors.Elasticsearch;

/// <summary>
/// The classic query_string syntax as Lucene's QueryParser reads it: a sequence of clauses, each
/// optional (default_operator OR), required (<c>+</c>, or joined by <c>AND</c>, or any clause when
/// default_operator is AND) or prohibited (<c>-</c>, <c>NOT</c>); a query of only prohibited clauses
/// matches everything else, as Elasticsearch fixes pure negative queries. Throws FormatException for
/// what Lucene cannot parse and NotSupportedException for syntax the double does not model.
/// </summary>
internal sealed class QueryStringParser(string text, bool defaultAnd, IndexMapping mapping, string? defaultField)
{
    private enum Kind { Term, Phrase, Open, Close, And, Or, Not, Plus, Minus, End }

    private readonly record struct Token(Kind Kind, string? Field, string Text);

    private readonly List<Token> _tokens = [];
    private int _next;

    public Matcher Parse()
    {
        Tokenize();
        var query = Sequence(null, topLevel: true);
        if (_tokens[_next].Kind != Kind.End) throw new FormatException($"Encountered \")\" at position {_next}");
        return query;
    }

    private Matcher Sequence(string? field, bool topLevel)
    {
        var clauses = new List<(char Occur, Matcher Query)>();
        var pendingAnd = false;
        while (true)
        {
            var token = _tokens[_next];
            if (token.Kind == Kind.End || (token.Kind == Kind.Close && !topLevel)) break;
            if (token.Kind == Kind.Close) throw new FormatException("Encountered \")\" without \"(\"");
            if (token.Kind is Kind.And or Kind.Or)
            {
                if (clauses.Count == 0) throw new FormatException($"Encountered \"{token.Text}\" at the start");
                _next++;
                if (_tokens[_next].Kind is Kind.End or Kind.Close or Kind.And or Kind.Or) throw new FormatException($"Encountered \"{token.Text}\" with nothing after it");
                if (token.Kind == Kind.And)
                {
                    pendingAnd = true;
                    if (clauses[^1].Occur == 's') clauses[^1] = ('m', clauses[^1].Query);
                }
                else if (clauses[^1].Occur == 'm' && !defaultAnd) clauses[^1] = ('s', clauses[^1].Query);
                continue;
            }
            var occur = defaultAnd || pendingAnd ? 'm' : 's';
            pendingAnd = false;
            if (token.Kind is Kind.Plus or Kind.Minus or Kind.Not)
            {
                occur = token.Kind == Kind.Plus ? 'm' : 'n';
                _next++;
                if (_tokens[_next].Kind is Kind.End or Kind.Close or Kind.And or Kind.Or) throw new FormatException($"Encountered \"{token.Text}\" with nothing after it");
            }
            clauses.Add((occur, Clause(field)));
        }
        if (clauses.Count == 0 && !topLevel) throw new FormatException("Encountered \"()\"");
        var must = clauses.Where(c => c.Occur == 'm').Select(c => c.Query).ToArray();
        var should = clauses.Where(c => c.Occur == 's').Select(c => c.Query).ToArray();
        var mustNot = clauses.Where(c => c.Occur == 'n').Select(c => c.Query).ToArray();
        if (must.Length == 0 && should.Length == 0 && mustNot.Length > 0) must = [_ => 1];
        return SearchQuery.Combine(must, should, mustNot);
    }

    private Matcher Clause(string? field)
    {
        var token = _tokens[_next++];
        var target = token.Field ?? field ?? defaultField ?? "*";
        switch (token.Kind)
        {
            case Kind.Open:
                var group = Sequence(target == "*" ? null : target, topLevel: false);
                if (_tokens[_next++].Kind != Kind.Close) throw new FormatException("Encountered <EOF>: a \"(\" is never closed");
                return group;
            case Kind.Term when token.Text == "*":
                return source => SearchQuery.Values(source, target, mapping).Any() ? 1 : null;
            case Kind.Term:
                return source => SearchQuery.Values(source, target, mapping).Any(v => SearchQuery.Term(mapping, target, v, token.Text)) ? 1 : null;
            case Kind.Phrase:
                return source => SearchQuery.Values(source, target, mapping).Any(v => SearchQuery.Phrase(mapping, target, v, token.Text)) ? 2 : null;
            default:
                throw new FormatException($"Encountered \"{token.Text}\"");
        }
    }

    private void Tokenize()
    {
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c is '[' or ']' or '{' or '}' or '~' or '^' or '/' or '<' or '>' or '=')
                throw new NotSupportedException($"the double does not model '{c}' in query_string (ranges, fuzziness, boosts, regular expressions)");
            if (c == '(') { _tokens.Add(new(Kind.Open, null, "(")); i++; continue; }
            if (c == ')') { _tokens.Add(new(Kind.Close, null, ")")); i++; continue; }
            if (c == '"') { _tokens.Add(new(Kind.Phrase, null, Quoted(ref i))); continue; }
            if ((c is '+' or '-' or '!') && i + 1 < text.Length && !char.IsWhiteSpace(text[i + 1]))
            {
                _tokens.Add(new(c == '+' ? Kind.Plus : c == '-' ? Kind.Minus : Kind.Not, null, c.ToString()));
                i++;
                continue;
            }
            var word = Word(ref i);
            switch (word)
            {
                case "AND" or "&&": _tokens.Add(new(Kind.And, null, word)); continue;
                case "OR" or "||": _tokens.Add(new(Kind.Or, null, word)); continue;
                case "NOT": _tokens.Add(new(Kind.Not, null, word)); continue;
            }
            if (i < text.Length && text[i] == ':')
            {
                i++;
                if (i >= text.Length || char.IsWhiteSpace(text[i])) throw new FormatException($"Encountered <EOF> after \"{word}:\"");
                if (text[i] == '(') { _tokens.Add(new(Kind.Open, word, "(")); i++; continue; }
                if (text[i] == '"') { _tokens.Add(new(Kind.Phrase, word, Quoted(ref i))); continue; }
                _tokens.Add(new(Kind.Term, word, Word(ref i)));
                continue;
            }
            _tokens.Add(new(Kind.Term, null, word));
        }
        _tokens.Add(new(Kind.End, null, "<EOF>"));
    }

    private string Quoted(ref int i)
    {
        var end = text.IndexOf('"', i + 1);
        if (end < 0) throw new FormatException("Lexical error: a phrase is never closed");
        var phrase = text[(i + 1)..end];
        i = end + 1;
        return phrase;
    }

    private string Word(ref int i)
    {
        var word = new StringBuilder();
        while (i < text.Length && !char.IsWhiteSpace(text[i]) && text[i] is not ('(' or ')' or ':' or '"'))
        {
            if (text[i] == '\\' && i + 1 < text.Length) i++;
            word.Append(text[i++]);
        }
        if (word.Length == 0) throw new FormatException($"Encountered \"{text[i]}\" at position {i}");
        return word.ToString();
    }
}

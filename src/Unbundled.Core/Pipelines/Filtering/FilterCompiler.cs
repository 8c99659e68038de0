using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;

namespace Unbundled.Pipelines.Filtering;

/// <summary>A <c>where:</c> expression that does not parse, with the 1-based column inside it.</summary>
public sealed class FilterSyntaxException(string message, int column) : Exception(message)
{
    /// <summary>The 1-based column in the expression where the problem is.</summary>
    public int Column { get; } = column;
}

/// <summary>
/// Compiles a <c>where:</c> expression once into a predicate over change events. The language:
/// <c>path OP literal</c> (OP one of <c>== != &lt; &lt;= &gt; &gt;=</c>; literals are double-quoted strings,
/// numbers, <c>true</c>, <c>false</c>, <c>null</c>), a bare path (true when it is neither null nor false),
/// combined with <c>and</c>, <c>or</c>, <c>not</c> and parentheses. A missing path is null.
/// </summary>
public static class FilterCompiler
{
    /// <summary>Compiles <paramref name="text"/>, throwing <see cref="FilterSyntaxException"/> when it does not parse.</summary>
    public static FilterExpression Compile(string text)
    {
        var parser = new Parser(Tokenize(text));
        var predicate = parser.ParseOr();
        parser.ExpectEnd();
        return new FilterExpression(text, predicate);
    }

    private enum Kind { Word, String, Number, Operator, Open, Close, End }

    private readonly record struct Token(Kind Kind, string Text, int Column);

    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            var column = i + 1;
            if (char.IsWhiteSpace(c)) { i++; continue; }
            if (c == '(') { tokens.Add(new Token(Kind.Open, "(", column)); i++; continue; }
            if (c == ')') { tokens.Add(new Token(Kind.Close, ")", column)); i++; continue; }
            if (c == '"')
            {
                var end = text.IndexOf('"', i + 1);
                if (end < 0) throw new FilterSyntaxException("this string is never closed with '\"'", column);
                tokens.Add(new Token(Kind.String, text[(i + 1)..end], column));
                i = end + 1;
                continue;
            }
            if ("=!<>".Contains(c))
            {
                var two = i + 1 < text.Length ? text.Substring(i, 2) : "";
                var op = two is "==" or "!=" or "<=" or ">=" ? two : c is '<' or '>' ? c.ToString() : null;
                if (op is null) throw new FilterSyntaxException($"'{c}' is not an operator; use == != < <= > >=", column);
                tokens.Add(new Token(Kind.Operator, op, column));
                i += op.Length;
                continue;
            }
            if (char.IsDigit(c) || (c == '-' && i + 1 < text.Length && char.IsDigit(text[i + 1])))
            {
                var start = i++;
                while (i < text.Length && (char.IsDigit(text[i]) || text[i] is '.' or 'e' or 'E' or '+' or '-')) i++;
                tokens.Add(new Token(Kind.Number, text[start..i], column));
                continue;
            }
            if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '.' or '-')) i++;
                tokens.Add(new Token(Kind.Word, text[start..i], column));
                continue;
            }
            throw new FilterSyntaxException($"unexpected '{c}'", column);
        }
        tokens.Add(new Token(Kind.End, "", text.Length + 1));
        return tokens;
    }

    private sealed class Parser(List<Token> tokens)
    {
        // Both bound the stack: parsing recurses per nesting level, and evaluation per term of a chain.
        private const int MaxNesting = 32;
        private const int MaxTerms = 256;
        private int _next;
        private int _nesting;
        private int _terms;

        private Token Peek => tokens[_next];

        public void ExpectEnd()
        {
            if (Peek.Kind != Kind.End) throw new FilterSyntaxException($"unexpected '{Peek.Text}'; expected 'and', 'or' or the end", Peek.Column);
        }

        public Func<ChangeEvent, bool> ParseOr()
        {
            var left = ParseAnd();
            while (IsWord("or"))
            {
                _next++;
                var l = left;
                var r = ParseAnd();
                left = e => l(e) || r(e);
            }
            return left;
        }

        private Func<ChangeEvent, bool> ParseAnd()
        {
            var left = ParseUnary();
            while (IsWord("and"))
            {
                _next++;
                var l = left;
                var r = ParseUnary();
                left = e => l(e) && r(e);
            }
            return left;
        }

        private Func<ChangeEvent, bool> ParseUnary()
        {
            if (!IsWord("not")) return ParsePrimary();
            Enter(Peek);
            _next++;
            var operand = ParseUnary();
            _nesting--;
            return e => !operand(e);
        }

        private void Enter(Token token)
        {
            if (++_nesting > MaxNesting) throw new FilterSyntaxException($"the expression nests deeper than {MaxNesting} levels", token.Column);
        }

        private Func<ChangeEvent, bool> ParsePrimary()
        {
            var token = tokens[_next++];
            if (++_terms > MaxTerms) throw new FilterSyntaxException($"the expression has more than {MaxTerms} terms", token.Column);
            if (token.Kind == Kind.Open)
            {
                Enter(token);
                var inner = ParseOr();
                _nesting--;
                if (Peek.Kind != Kind.Close) throw new FilterSyntaxException($"expected ')' to close the '(' at column {token.Column}", Peek.Column);
                _next++;
                return inner;
            }
            if (token.Kind != Kind.Word || token.Text is "and" or "or" or "not" or "true" or "false" or "null")
                throw new FilterSyntaxException(token.Kind == Kind.End ? "the expression ends too soon; expected a path" : $"expected a path such as after.done, not '{token.Text}'", token.Column);
            if (!EventPath.TryParse(token.Text, out var path, out var error)) throw new FilterSyntaxException(error!, token.Column);
            if (Peek.Kind != Kind.Operator) return e => IsTruthy(path.Resolve(e));

            var op = tokens[_next++];
            var literal = ParseLiteral();
            return op.Text switch
            {
                "==" => e => JsonNode.DeepEquals(Normalize(path.Resolve(e)), literal),
                "!=" => e => !JsonNode.DeepEquals(Normalize(path.Resolve(e)), literal),
                "<" => e => Compare(path.Resolve(e), literal) is < 0,
                "<=" => e => Compare(path.Resolve(e), literal) is <= 0,
                ">" => e => Compare(path.Resolve(e), literal) is > 0,
                _ => e => Compare(path.Resolve(e), literal) is >= 0,
            };
        }

        private JsonNode? ParseLiteral()
        {
            var token = tokens[_next++];
            return token.Kind switch
            {
                Kind.String => JsonValue.Create(token.Text),
                Kind.Number when double.TryParse(token.Text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
                Kind.Word when token.Text == "true" => JsonValue.Create(true),
                Kind.Word when token.Text == "false" => JsonValue.Create(false),
                Kind.Word when token.Text == "null" => null,
                _ => throw new FilterSyntaxException(
                    token.Kind == Kind.End ? "the expression ends too soon; expected a value after the operator" : $"'{token.Text}' is not a value; use a \"string\", a number, true, false or null",
                    token.Column),
            };
        }

        private bool IsWord(string word) => Peek.Kind == Kind.Word && Peek.Text == word;
    }

    private static bool IsTruthy(JsonNode? value) =>
        value is not null && !(value.GetValueKind() == JsonValueKind.False) && value.GetValueKind() != JsonValueKind.Null;

    // Numbers compare as numbers whatever their JSON spelling (1 == 1.0).
    private static JsonNode? Normalize(JsonNode? value) =>
        value is JsonValue number && number.GetValueKind() == JsonValueKind.Number ? JsonValue.Create(AsDouble(number)) : value;

    // Values built in code (source.version) hold a long, parsed ones a JsonElement: read both as double.
    private static double AsDouble(JsonNode number) =>
        number is JsonValue value && value.TryGetValue<double>(out var d) ? d : double.Parse(number.ToJsonString(), CultureInfo.InvariantCulture);

    private static int? Compare(JsonNode? left, JsonNode? right)
    {
        if (left is null || right is null) return null;
        return (left.GetValueKind(), right.GetValueKind()) switch
        {
            (JsonValueKind.Number, JsonValueKind.Number) => AsDouble(left).CompareTo(AsDouble(right)),
            (JsonValueKind.String, JsonValueKind.String) => string.CompareOrdinal(left.GetValue<string>(), right.GetValue<string>()),
            _ => null,
        };
    }
}

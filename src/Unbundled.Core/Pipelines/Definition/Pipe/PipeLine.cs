namespace Unbundled.Pipelines.Definition.Pipe;

/// <summary>A piece of a pipe line and where it stands in it (1-based column, length).</summary>
public readonly record struct PipeText(string Text, int Column, int Length);

/// <summary>A connector as a pipe line names it: <c>connector[:name][?option=value&amp;…]</c>.</summary>
public sealed record PipeConnector(PipeText Connector, PipeText? Name, IReadOnlyList<(PipeText Option, PipeText Value)> Options);

/// <summary>A field of a <c>select</c> stage: its name and the path it takes (<c>total</c> takes <c>after.total</c>).</summary>
public sealed record PipeField(PipeText Name, PipeText Path);

/// <summary>
/// The one-line pipe form, <c>source | stage … | sink</c>, parsed with the position of every piece so that
/// problems found later, when the line is checked as a pipelines.yaml declaration, point into the line.
/// </summary>
public sealed record PipeLine(PipeConnector Source, PipeText? Where, IReadOnlyList<PipeField>? Select, PipeText? Key, PipeConnector Sink)
{
    /// <summary>Parses <paramref name="line"/>; throws <see cref="PipeSyntaxException"/> at the first problem.</summary>
    public static PipeLine Parse(string line)
    {
        var segments = Split(line);
        if (segments.Count < 2)
            throw new PipeSyntaxException(line.Length + 1, "a pipe needs a source and a sink: 'source | sink', with stages between ('where …', 'select …', 'key …')");
        var source = Connector(segments[0], "source");
        var sink = Connector(segments[^1], "sink");
        PipeText? where = null, key = null;
        IReadOnlyList<PipeField>? select = null;
        foreach (var stage in segments.Skip(1).SkipLast(1))
        {
            var (verb, rest) = Word(stage);
            switch (verb.Text)
            {
                case "where" when rest is { Length: > 0 } condition:
                    where = Once(where, verb, condition);
                    break;
                case "key" when rest is { Length: > 0 } template:
                    key = Once(key, verb, template);
                    break;
                case "select" when rest is { Length: > 0 } fields:
                    if (select is not null) throw new PipeSyntaxException(verb.Column, "'select' is given twice");
                    select = Fields(fields);
                    break;
                case "where" or "key" or "select":
                    throw new PipeSyntaxException(verb.Column + verb.Length, $"'{verb.Text}' needs {(verb.Text == "select" ? "fields: select id,total" : verb.Text == "key" ? "a template: key order:{key}" : "a condition: where status != \"cancelled\"")}");
                default:
                    throw new PipeSyntaxException(verb.Column, $"'{verb.Text}' is not a stage: use 'where', 'select' or 'key'");
            }
        }
        return new PipeLine(source, where, select, key, sink);
    }

    private static PipeText Once(PipeText? given, PipeText verb, PipeText value) =>
        given is null ? value : throw new PipeSyntaxException(verb.Column, $"'{verb.Text}' is given twice");

    /// <summary>The segments between '|' outside quotes, trimmed.</summary>
    private static List<PipeText> Split(string line)
    {
        var segments = new List<PipeText>();
        var (start, quote) = (0, '\0');
        for (var i = 0; i <= line.Length; i++)
        {
            var c = i < line.Length ? line[i] : '|';
            if (quote != '\0') { if (c == quote) quote = '\0'; continue; }
            if (c is '"' or '\'') { quote = c; continue; }
            if (c != '|') continue;
            var segment = Trim(line, start, i);
            if (segment.Length == 0)
                throw i == line.Length
                    ? new PipeSyntaxException(start, "the line ends with '|': name a sink after it")
                    : new PipeSyntaxException(i + 1, "an empty stage between two '|'");
            segments.Add(segment);
            start = i + 1;
        }
        if (quote != '\0') throw new PipeSyntaxException(line.LastIndexOf(quote) + 1, $"this {quote} is never closed");
        return segments;
    }

    private static PipeText Trim(string line, int start, int end)
    {
        while (start < end && char.IsWhiteSpace(line[start])) start++;
        while (end > start && char.IsWhiteSpace(line[end - 1])) end--;
        return new PipeText(line[start..end], start + 1, end - start);
    }

    private static (PipeText Verb, PipeText? Argument) Word(PipeText segment)
    {
        var space = segment.Text.IndexOf(' ');
        if (space < 0) return (segment, null);
        var rest = segment.Text[space..].TrimStart();
        var restColumn = segment.Column + segment.Length - rest.Length;
        return (new PipeText(segment.Text[..space], segment.Column, space), new PipeText(rest, restColumn, rest.Length));
    }

    private static PipeConnector Connector(PipeText segment, string role)
    {
        var text = segment.Text;
        var question = text.IndexOf('?');
        var head = question < 0 ? text : text[..question];
        var colon = head.IndexOf(':');
        var name = colon < 0 ? head : head[..colon];
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            throw new PipeSyntaxException(segment.Column, $"the {role} must start with a connector name (postgres:orders, elasticsearch:orders?url=…), not '{head}'");
        PipeText? target = colon < 0 ? null : Piece(segment, colon + 1, head.Length);
        var options = new List<(PipeText, PipeText)>();
        if (question >= 0)
        {
            var at = question + 1;
            foreach (var pair in text[at..].Split('&'))
            {
                var equals = pair.IndexOf('=');
                if (equals <= 0) throw new PipeSyntaxException(segment.Column + at, $"'{pair}' is not option=value");
                options.Add((Piece(segment, at, at + equals), Piece(segment, at + equals + 1, at + pair.Length, decode: true)));
                at += pair.Length + 1;
            }
        }
        return new PipeConnector(new PipeText(name, segment.Column, name.Length), target, options);
    }

    // Values may be percent-encoded (a '&' or '|' inside one); quotes around a value are dropped.
    private static PipeText Piece(PipeText segment, int from, int to, bool decode = false)
    {
        var text = segment.Text[from..to];
        if (text.Length >= 2 && text[0] is '"' or '\'' && text[^1] == text[0]) text = text[1..^1];
        return new PipeText(decode ? Uri.UnescapeDataString(text) : text, segment.Column + from, to - from);
    }

    private static List<PipeField> Fields(PipeText list)
    {
        var fields = new List<PipeField>();
        var at = 0;
        foreach (var item in list.Text.Split(','))
        {
            var piece = Trim(list.Text, at, at + item.Length);
            var field = piece with { Column = list.Column + piece.Column - 1 };
            at += item.Length + 1;
            if (field.Length == 0) throw new PipeSyntaxException(field.Column, "an empty field in 'select'");
            var equals = field.Text.IndexOf('=');
            var name = equals < 0 ? field.Text : field.Text[..equals].Trim();
            var path = equals < 0 ? (name == "*" ? "after" : $"after.{name}") : field.Text[(equals + 1)..].Trim();
            fields.Add(new PipeField(new PipeText(name, field.Column, name.Length), new PipeText(path, field.Column, field.Length)));
        }
        return fields;
    }
}

/// <summary>A pipe line that does not parse, and the column where it goes wrong.</summary>
public sealed class PipeSyntaxException(int column, string message) : Exception(message)
{
    /// <summary>The 1-based column of the problem.</summary>
    public int Column { get; } = column;
}

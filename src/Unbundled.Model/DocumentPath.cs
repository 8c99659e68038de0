namespace Unbundled.Model;

/// <summary>A parsed JSON Pointer (RFC 6901) into a model document.</summary>
public sealed class DocumentPath
{
    /// <summary>The pointer to the whole document.</summary>
    public static readonly DocumentPath Root = new("", []);

    private DocumentPath(string text, string[] segments)
    {
        Text = text;
        Segments = segments;
    }

    /// <summary>The pointer as written.</summary>
    public string Text { get; }

    /// <summary>The unescaped reference tokens, outermost first.</summary>
    public IReadOnlyList<string> Segments { get; }

    /// <summary>True for the pointer to the whole document.</summary>
    public bool IsRoot => Segments.Count == 0;

    /// <summary>Parses a pointer, or says why it is not one.</summary>
    public static bool TryParse(string? text, out DocumentPath path, out string? error)
    {
        path = Root;
        error = null;
        if (text is null)
        {
            error = "the path is missing";
            return false;
        }
        if (text.Length == 0) return true;
        if (text[0] != '/')
        {
            error = $"'{text}' is not a JSON Pointer: it must be empty or start with '/'";
            return false;
        }

        var raw = text[1..].Split('/');
        var segments = new string[raw.Length];
        for (var i = 0; i < raw.Length; i++)
        {
            var token = raw[i];
            for (var t = token.IndexOf('~'); t >= 0; t = token.IndexOf('~', t + 1))
            {
                if (t + 1 >= token.Length || (token[t + 1] != '0' && token[t + 1] != '1'))
                {
                    error = $"'{text}' has '~' not followed by 0 or 1 in segment {i + 1}";
                    return false;
                }
            }
            segments[i] = token.Replace("~1", "/").Replace("~0", "~");
        }
        path = new DocumentPath(text, segments);
        return true;
    }

    /// <summary>Parses a pointer, throwing <see cref="FormatException"/> when it is not one.</summary>
    public static DocumentPath Parse(string text) =>
        TryParse(text, out var path, out var error) ? path : throw new FormatException(error);

    /// <summary>This pointer with the token at <paramref name="index"/> replaced by <paramref name="segment"/> (unescaped).</summary>
    public DocumentPath WithSegment(int index, string segment)
    {
        var segments = Segments.ToArray();
        segments[index] = segment;
        return new DocumentPath(string.Concat(segments.Select(s => "/" + Escape(s))), segments);
    }

    /// <summary>A reference token as written in a pointer: <c>~</c> and <c>/</c> escaped (RFC 6901).</summary>
    internal static string Escape(string token) => token.Replace("~", "~0").Replace("/", "~1");

    /// <inheritdoc />
    public override string ToString() => Text;
}

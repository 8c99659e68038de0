namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>
/// Looks at a file's shape before YamlDotNet parses it: YamlDotNet recurses once per nesting level
/// and a stack overflow cannot be caught in .NET, so a file nested thousands of levels deep, or too
/// large to be a pipelines file, is refused here with its position instead of ending the process.
/// </summary>
internal static class YamlShapeGuard
{
    /// <summary>Deepest flow nesting (<c>[</c>, <c>{</c>) or indentation accepted; real files stay within a dozen.</summary>
    public const int MaxDepth = 64;

    /// <summary>Largest file accepted, in characters.</summary>
    public const int MaxLength = 1 << 20;

    /// <summary>Why the text cannot be a pipelines file, with the line and column, or null.</summary>
    public static (int Line, int Column, string Message)? Check(string text)
    {
        if (text.Length > MaxLength) return (1, 1, $"the file is {text.Length} characters long; a pipelines file is at most {MaxLength}");
        var depth = 0;
        var line = 1;
        var column = 0;
        var indent = 0;
        var lineStart = true;
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            column++;
            if (c == '\n')
            {
                line++;
                column = 0;
                indent = 0;
                lineStart = true;
                continue;
            }
            if (lineStart && c == ' ')
            {
                // Block nesting shows as indentation: two spaces a level in any file people write.
                if (++indent > MaxDepth * 2) return (line, column, $"the file is indented deeper than {MaxDepth} levels");
                continue;
            }
            lineStart = false;
            if (quote is { } open)
            {
                if (c == '\\' && open == '"') i++;
                else if (c == open) quote = null;
                continue;
            }
            switch (c)
            {
                case '"' or '\'':
                    quote = c;
                    break;
                case '#' when i == 0 || char.IsWhiteSpace(text[i - 1]):
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    break;
                case '[' or '{':
                    if (++depth > MaxDepth) return (line, column, $"the file nests deeper than {MaxDepth} levels of '[' and '{{'");
                    break;
                case ']' or '}':
                    depth = Math.Max(0, depth - 1);
                    break;
            }
        }
        return null;
    }
}

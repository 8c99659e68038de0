using System.Text.RegularExpressions;

namespace Unbundled.Pipelines.Definition.Pipe;

/// <summary>
/// Adds a declaration to the text of a pipelines.yaml without rewriting the rest: each entry goes at the
/// end of its top-level section (<c>sources:</c>, <c>sinks:</c>, <c>pipelines:</c>), which is added when
/// missing, so the file's comments and layout stay as their author wrote them.
/// </summary>
public static partial class PipelinesFileText
{
    private static readonly string[] Sections = ["sources", "sinks", "pipelines"];

    /// <summary><paramref name="file"/> with <paramref name="declaration"/>'s source, sink and pipeline added.</summary>
    public static string Append(string file, PipeDeclaration declaration)
    {
        var lines = file.Replace("\r\n", "\n").Split('\n').ToList();
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        var blocks = BlocksOf(declaration.Yaml);
        foreach (var section in Sections)
        {
            var header = lines.FindIndex(l => SectionHeader().Match(l) is { Success: true } m && m.Groups[1].Value == section);
            if (header < 0)
            {
                lines.Add($"{section}:");
                lines.AddRange(blocks[section]);
                continue;
            }
            if (lines[header].TrimEnd().Length > section.Length + 1 && !lines[header][(section.Length + 1)..].TrimStart().StartsWith('#'))
                throw new InvalidOperationException($"'{section}:' is written on one line (flow style) at line {header + 1}; add the pipeline by hand");
            var end = header + 1;
            while (end < lines.Count && (lines[end].Length == 0 || char.IsWhiteSpace(lines[end][0]) || lines[end].StartsWith('#'))) end++;
            // Trailing blank lines and comments stay after the section, with whatever they introduce.
            while (end > header + 1 && (lines[end - 1].Trim().Length == 0 || lines[end - 1].StartsWith('#'))) end--;
            lines.InsertRange(end, blocks[section]);
        }
        return string.Join('\n', lines) + "\n";
    }

    private static Dictionary<string, List<string>> BlocksOf(string yaml)
    {
        var blocks = Sections.ToDictionary(s => s, _ => new List<string>());
        string? current = null;
        foreach (var line in yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (SectionHeader().Match(line) is { Success: true } header) current = header.Groups[1].Value;
            else if (current is not null) blocks[current].Add(line);
        }
        return blocks;
    }

    [GeneratedRegex(@"^(sources|sinks|pipelines):")]
    private static partial Regex SectionHeader();
}

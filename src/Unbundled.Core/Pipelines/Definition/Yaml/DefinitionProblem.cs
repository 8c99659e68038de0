namespace Unbundled.Pipelines.Definition.Yaml;

/// <summary>One thing wrong in pipelines.yaml, where it is, and a hint when there is a likely fix.</summary>
/// <param name="At">The position of the offending node.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Hint">A likely fix ("did you mean 'from'?"), if any.</param>
public sealed record DefinitionProblem(SourceSpan At, string Message, string? Hint = null)
{
    /// <inheritdoc />
    public override string ToString() => $"{At}: error: {Text}";

    /// <summary>The message and its hint, without the position.</summary>
    public string Text => Message + Hint switch
    {
        null => "",
        _ when Message.EndsWith('?') || Message.EndsWith('.') => $" {Hint}",
        _ => $". {Hint}",
    };
}

/// <summary>The outcome of loading pipelines.yaml: the document when it is valid, and every problem found.</summary>
public sealed record PipelinesLoadResult(PipelinesDocument? Document, IReadOnlyList<DefinitionProblem> Problems)
{
    /// <summary>The document, or an exception listing every problem.</summary>
    public PipelinesDocument Require() => Problems.Count == 0 && Document is not null ? Document : throw new PipelinesFileException(Problems);
}

/// <summary>pipelines.yaml is not valid; the message lists every problem with its position.</summary>
public sealed class PipelinesFileException(IReadOnlyList<DefinitionProblem> problems)
    : Exception($"pipelines.yaml has {problems.Count} problem(s):{Environment.NewLine}{string.Join(Environment.NewLine, problems)}")
{
    /// <summary>Every problem found.</summary>
    public IReadOnlyList<DefinitionProblem> Problems { get; } = problems;
}

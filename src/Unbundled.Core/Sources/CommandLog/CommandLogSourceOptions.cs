namespace Unbundled.Sources.CommandLog;

/// <summary>Options of the <c>log</c> source (the default): which model types of the command log it passes.</summary>
public sealed class CommandLogSourceOptions
{
    /// <summary>The model types to read (empty: all).</summary>
    public List<string> Models { get; set; } = [];
}

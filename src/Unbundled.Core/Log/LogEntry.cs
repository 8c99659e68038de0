using Unbundled.Model;

namespace Unbundled.Log;

/// <summary>One applied command as the log holds it: the source of truth every view derives from.</summary>
/// <param name="Position">Global, gap-free position in commit order; the first entry is 1.</param>
/// <param name="Model">The model the command changed.</param>
/// <param name="Version">The model's version after this command; the model's first command is version 1.</param>
/// <param name="Command">The command as the master applied it (after interceptors).</param>
/// <param name="Timestamp">When the master appended it.</param>
public sealed record LogEntry(long Position, ModelKey Model, long Version, Command Command, DateTimeOffset Timestamp);

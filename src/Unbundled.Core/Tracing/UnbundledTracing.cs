using System.Diagnostics;
using Unbundled.Model;

namespace Unbundled.Tracing;

/// <summary>
/// The unbundled path as one trace: a flush starts (or continues) it, its trace context is stored with
/// each log entry it appends, and every pipeline's derivation of that entry is a span of the same trace,
/// its batch write linked to every entry it carried. Spans cost nothing while no listener is attached.
/// </summary>
public static class UnbundledTracing
{
    /// <summary>The ActivitySource name to subscribe to (OpenTelemetry's <c>AddSource</c>).</summary>
    public const string SourceName = "Unbundled";

    /// <summary>The command metadata entry that carries the W3C <c>traceparent</c> of the flush that wrote it.</summary>
    public const string MetaName = "trace";

    internal static readonly ActivitySource Source = new(SourceName);

    /// <summary>The command with the current trace context stored in it, when there is one.</summary>
    internal static Command Stamp(Command command) => Activity.Current is { Id: { } traceParent, IdFormat: ActivityIdFormat.W3C }
        ? command.WithMeta(MetaName, traceParent)
        : command;

    /// <summary>The trace context a stored command carries, if any.</summary>
    public static ActivityContext? ContextOf(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : null;
}

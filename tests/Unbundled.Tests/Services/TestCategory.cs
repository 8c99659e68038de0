namespace Unbundled.Tests.Services;

/// <summary>
/// The split between fast tests and those that need real servers (PostgreSQL, Redis, Chromium, the server
/// on Kestrel, the CLI in a process of its own): <c>dotnet test --filter Category!=Servers</c> runs the fast
/// ones alone in seconds; the plain <c>dotnet test</c> runs everything.
/// </summary>
public static class TestCategory
{
    /// <summary>The trait's name.</summary>
    public const string Name = "Category";

    /// <summary>Tests that start or reach real servers.</summary>
    public const string Servers = "Servers";
}

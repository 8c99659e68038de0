using Microsoft.Data.Sqlite;

namespace Unbundled.Tests;

/// <summary>A directory of its own for one test, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    /// <summary>The directory's full path.</summary>
    public string Path { get; } = Directory.CreateTempSubdirectory("unbundled-test-").FullName;

    /// <summary>A file path inside the directory.</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <inheritdoc />
    public void Dispose()
    {
        // Pooled SQLite connections keep files open until the pool lets go of them.
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

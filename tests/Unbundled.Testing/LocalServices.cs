using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Unbundled.Testing;

/// <summary>
/// Runs compose/local-services.sh once per test run — it installs PostgreSQL and Redis when missing
/// and starts them on loopback — and hands out the settings it prints.
/// </summary>
public static partial class LocalServices
{
    private static readonly Lazy<Task<IReadOnlyDictionary<string, string>>> Started = new(StartAsync);

    /// <summary>The value of <paramref name="variable"/>: from the environment when set, else from the script.</summary>
    public static async Task<string> GetAsync(string variable)
    {
        if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value) return value;
        var settings = await Started.Value;
        return settings.TryGetValue(variable, out var started)
            ? started
            : throw new InvalidOperationException($"compose/local-services.sh printed no {variable}.");
    }

    /// <summary>The folder holding Unbundled.sln.</summary>
    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Unbundled.sln"))) return directory.FullName;
        }
        throw new InvalidOperationException($"No Unbundled.sln above {AppContext.BaseDirectory}.");
    }

    private static async Task<IReadOnlyDictionary<string, string>> StartAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "compose", "local-services.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        }) ?? throw new InvalidOperationException($"Could not start {script}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed with exit code {process.ExitCode}:\n{await errors}");
        return ExportLine().Matches(await output).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value);
    }

    [GeneratedRegex("^export (?<name>[A-Z_]+)='(?<value>[^']*)'$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();
}

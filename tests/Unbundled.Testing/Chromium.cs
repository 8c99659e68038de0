using System.Text.Json.Nodes;
using PuppeteerSharp;

namespace Unbundled.Testing;

/// <summary>
/// Debian's headless Chromium driven by PuppeteerSharp. The browser is the one installed on the
/// machine (<c>apt-get install chromium</c>, as .ci/run does), named by its executable path: nothing
/// downloads a browser.
/// </summary>
public static class Chromium
{
    private static readonly string[] Executables = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

    /// <summary>Launches a headless Chromium with a fresh profile of its own; <paramref name="extraArguments"/> are added to its command line.</summary>
    public static Task<IBrowser> LaunchAsync(params string[] extraArguments) => LaunchAsync(0, extraArguments);

    /// <summary>
    /// Launches Chromium at a lower CPU priority (<c>nice</c> <paramref name="niceness"/>, inherited by its
    /// renderers): in a bench the browsers stand in for users' own devices, so they must not take the
    /// cores from the server being measured.
    /// </summary>
    public static async Task<IBrowser> LaunchAsync(int niceness, params string[] extraArguments)
    {
        var executable = Executables.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install chromium (.ci/run does it)");
        if (niceness > 0) executable = NicedLauncher(executable, niceness);
        return await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", .. extraArguments],
        }).ConfigureAwait(false);
    }

    /// <summary>A small script that execs Chromium under <c>nice</c>, since the driver starts the executable it is given as it is.</summary>
    private static string NicedLauncher(string executable, int niceness)
    {
        var script = Path.Combine(Directory.CreateTempSubdirectory("unbundled-chromium-").FullName, "chromium");
        File.WriteAllText(script, $"#!/bin/sh\nexec nice -n {niceness} {executable} \"$@\"\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    /// <summary>
    /// Evaluates <paramref name="expression"/> in the page, awaiting it when it is a promise, and returns
    /// its value as JSON (null for undefined); a JavaScript exception surfaces as an <see cref="EvaluationFailedException"/>.
    /// </summary>
    public static async Task<JsonNode?> EvaluateJsonAsync(this IPage page, string expression)
    {
        // Through a string, so the value keeps exactly its JSON shape whatever the driver's serializer does.
        var json = await page.EvaluateExpressionAsync<string?>($"(async () => JSON.stringify(await ({expression}) ?? null))()").ConfigureAwait(false);
        return json is null ? null : JsonNode.Parse(json);
    }

    /// <summary>Waits until <paramref name="condition"/> (a JavaScript expression) holds in the page, failing after <paramref name="timeout"/>.</summary>
    public static async Task WaitUntilAsync(this IPage page, string condition, TimeSpan? timeout = null)
    {
        try
        {
            await page.WaitForExpressionAsync(condition, new WaitForFunctionOptions { Timeout = (int)(timeout ?? TimeSpan.FromSeconds(10)).TotalMilliseconds, PollingInterval = 20 })
                .ConfigureAwait(false);
        }
        catch (WaitTaskTimeoutException)
        {
            throw new TimeoutException($"the page never reached: {condition}");
        }
    }
}

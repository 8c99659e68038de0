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
    public static async Task<IBrowser> LaunchAsync(params string[] extraArguments)
    {
        var executable = Executables.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed: apt-get install chromium (.ci/run does it)");
        return await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", .. extraArguments],
        }).ConfigureAwait(false);
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

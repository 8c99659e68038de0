using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Definition.Pipe;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Pipelines.Observability;
using Unbundled.Server;

namespace Unbundled.Cli.Verbs;

/// <summary>
/// <c>unbundled pipe 'source | stage … | sink'</c>: the DDIA shell line. The line is written out as the
/// pipelines.yaml declaration it means and run in the foreground with a live line of progress, lag and
/// rate; <c>--save NAME</c> adds the declaration to pipelines.yaml instead. Grammar: docs/pipe.md.
/// </summary>
internal static class PipeVerb
{
    public static Command Create()
    {
        var line = new Argument<string>("line") { Description = "The pipe, quoted: 'postgres:orders?connection=… | where status != \"cancelled\" | select id,total | elasticsearch:orders'." };
        var save = new Option<string?>("--save") { Description = "Add the pipe to the pipelines file as a pipeline of this name, and exit." };
        var file = new Option<string>("--file") { Description = "The pipelines file --save adds to.", DefaultValueFactory = _ => UnbundledApp.DefaultPipelinesFile };
        var command = new Command("pipe", "Run a one-line pipe, source | stage … | sink, in the foreground (or --save it). Further --Section:Key=value arguments override configuration.")
        {
            line,
            save,
            file,
        };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var text = parsed.GetValue(line)!;
            var name = parsed.GetValue(save) ?? "pipe-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
            PipeDeclaration declaration;
            try
            {
                ValidateVerb.Load("", out var catalog);
                declaration = PipeDeclaration.Of(PipeLine.Parse(text), name, catalog);
            }
            catch (PipeSyntaxException syntax)
            {
                return Report(text, [(syntax.Column, syntax.Message)]);
            }

            var directory = Directory.CreateTempSubdirectory("unbundled-pipe-");
            try
            {
                var declared = Path.Combine(directory.FullName, "pipe.yaml");
                await File.WriteAllTextAsync(declared, declaration.Yaml, cancellationToken);
                return parsed.GetValue(save) is null
                    ? await RunAsync(text, declaration, declared, parsed.UnmatchedTokens, cancellationToken)
                    : await SaveAsync(text, declaration, declared, parsed.GetValue(file)!, cancellationToken);
            }
            finally
            {
                directory.Delete(recursive: true);
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(string text, PipeDeclaration declaration, string declared, IReadOnlyList<string> hostArgs, CancellationToken cancellationToken)
    {
        WebApplication app;
        try
        {
            // The pipe listens on a port of its own, so it runs beside a server of the same directory.
            app = UnbundledApp.Build([$"--Unbundled:Pipelines:File={declared}", "--urls=http://127.0.0.1:0", .. hostArgs], application: DemoApplication.Register);
        }
        catch (PipelinesFileException invalid)
        {
            return Report(text, invalid.Problems.Select(p => (declaration.OriginOf(p.At.Line)?.Column ?? 1, p.Text)).ToList());
        }
        catch (InvalidOperationException refused)
        {
            await Console.Error.WriteLineAsync($"unbundled: {refused.Message}");
            return 1;
        }
        await using var running = app;
        // Ctrl-C (or SIGTERM) stops the pipe whenever it comes, even while the host still starts.
        using var interrupted = new CancellationTokenSource();
        // A second Ctrl-C is not held back: it ends the process at once, as a user pressing it again means.
        void Stop(PosixSignalContext signal)
        {
            if (interrupted.IsCancellationRequested) return;
            signal.Cancel = true;
            Console.Error.WriteLine($"unbundled: {signal.Signal} received, stopping the pipe (Ctrl-C again to end it at once)");
            interrupted.Cancel();
        }
        using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, interrupted.Token);
        var monitor = app.Services.GetRequiredService<PipelineMonitor>();
        var live = new PipeProgressLine(Console.Out, !Console.IsOutputRedirected);
        try
        {
            await app.StartAsync(stop.Token);
            while (!stop.IsCancellationRequested)
            {
                if (monitor.TryGet(declaration.Name, out var progress)) live.Show(progress);
                await Task.Delay(500, stop.Token);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        live.End();
        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await app.StopAsync(CancellationToken.None);
        Console.Error.WriteLine($"unbundled: the pipe stopped in {stopping.Elapsed.TotalSeconds:0.0} s");
        return 0;
    }

    private static async Task<int> SaveAsync(string text, PipeDeclaration declaration, string declared, string target, CancellationToken cancellationToken)
    {
        string combined;
        try
        {
            combined = PipelinesFileText.Append(File.Exists(target) ? await File.ReadAllTextAsync(target, cancellationToken) : "", declaration);
        }
        catch (InvalidOperationException refused)
        {
            await Console.Error.WriteLineAsync($"{target}: {refused.Message}");
            return 1;
        }
        // The file as it would be is checked whole before it replaces the old one.
        await File.WriteAllTextAsync(declared, combined, cancellationToken);
        try
        {
            ValidateVerb.Load(declared);
        }
        catch (PipelinesFileException invalid)
        {
            return ValidateVerb.Report(invalid, target);
        }
        await File.WriteAllTextAsync(target, combined, cancellationToken);
        Console.WriteLine($"{target}: pipeline '{declaration.Name}' added (with source '{declaration.Name}-source' and sink '{declaration.Name}-sink'); `unbundled run` keeps it up to date");
        return 0;
    }

    /// <summary>Prints each problem under the line with a caret at its column; returns the exit code.</summary>
    private static int Report(string text, IReadOnlyList<(int Column, string Message)> problems)
    {
        foreach (var (column, message) in problems)
        {
            Console.Error.WriteLine($"pipe:1:{column}: error: {message}");
            Console.Error.WriteLine($"  {text}");
            Console.Error.WriteLine($"  {new string(' ', Math.Max(0, column - 1))}^");
        }
        return problems.Count > 0 ? 2 : 0;
    }
}

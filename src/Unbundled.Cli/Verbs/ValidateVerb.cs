using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Definition;
using Unbundled.Server;
using Unbundled.Pipelines.Definition.Yaml;

namespace Unbundled.Cli.Verbs;

/// <summary><c>unbundled validate [file]</c>: checks pipelines.yaml against what the server registers, printing every problem.</summary>
internal static class ValidateVerb
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "The pipelines file.", DefaultValueFactory = _ => UnbundledApp.DefaultPipelinesFile };
        var command = new Command("validate", "Check a pipelines file; print each problem with its line and column.") { file };
        command.SetAction(parsed =>
        {
            var path = parsed.GetValue(file)!;
            var configuration = new ConfigurationBuilder()
                .AddEnvironmentVariables()
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Unbundled:Pipelines:File"] = path })
                .Build();
            try
            {
                var unbundled = UnbundledApp.AddUnbundledServices(new ServiceCollection(), configuration, DemoApplication.Register);
                var document = unbundled.Services.Single(s => s.ServiceType == typeof(PipelinesDocument)).ImplementationInstance as PipelinesDocument;
                Console.WriteLine($"{path}: {document!.Sources.Count} source(s), {document.Sinks.Count} sink(s), {document.Pipelines.Count} pipeline(s): valid");
                return 0;
            }
            catch (PipelinesFileException invalid)
            {
                return Report(invalid, path);
            }
        });
        return command;
    }

    /// <summary>Prints every problem with its position and a count, as <c>validate</c> and <c>run</c> both answer a broken file; returns the exit code.</summary>
    public static int Report(PipelinesFileException invalid, string path)
    {
        foreach (var problem in invalid.Problems) Console.Error.WriteLine(problem);
        Console.Error.WriteLine($"{path}: {invalid.Problems.Count} problem(s)");
        return 1;
    }
}

using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Connectors;
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
            try
            {
                var document = Load(path);
                var off = document!.SwitchedOff.Count > 0 ? $" and {document.SwitchedOff.Count} switched off ({string.Join(", ", document.SwitchedOff)})" : "";
                Console.WriteLine($"{path}: {document.Sources.Count} source(s), {document.Sinks.Count} sink(s), {document.Pipelines.Count} pipeline(s){off}: valid");
                return 0;
            }
            catch (PipelinesFileException invalid)
            {
                return Report(invalid, path);
            }
        });
        return command;
    }

    /// <summary>
    /// <paramref name="path"/> checked as the server registers it (null for an empty path, which loads no file);
    /// throws <see cref="PipelinesFileException"/> when it does not check. <c>validate</c>, <c>pipe</c> and <c>pipe --save</c> all load through here.
    /// </summary>
    public static PipelinesDocument? Load(string path) => Load(path, out _);

    /// <summary>As <see cref="Load(string)"/>, also giving the connectors the server registers.</summary>
    public static PipelinesDocument? Load(string path, out ConnectorCatalog connectors)
    {
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Unbundled:Pipelines:File"] = path })
            .Build();
        var unbundled = UnbundledApp.AddUnbundledServices(new ServiceCollection(), configuration, DemoApplication.Register);
        connectors = unbundled.Connectors;
        return unbundled.Services.SingleOrDefault(s => s.ServiceType == typeof(PipelinesDocument))?.ImplementationInstance as PipelinesDocument;
    }

    /// <summary>Prints every problem with its position and a count, as <c>validate</c> and <c>run</c> both answer a broken file; returns the exit code.</summary>
    public static int Report(PipelinesFileException invalid, string path)
    {
        foreach (var problem in invalid.Problems) Console.Error.WriteLine(problem);
        Console.Error.WriteLine($"{path}: {invalid.Problems.Count} problem(s)");
        return 1;
    }
}

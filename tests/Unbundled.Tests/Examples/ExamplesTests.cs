using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Server;

namespace Unbundled.Tests.Examples;

/// <summary>Every runnable example's pipelines.yaml is valid for the server as it is registered, as <c>unbundled validate</c> checks it.</summary>
public sealed class ExamplesTests
{
    public static TheoryData<string> Examples()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "Unbundled.sln"))) root = root.Parent!;
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(root.FullName, "examples"), "pipelines.yaml", SearchOption.AllDirectories)) data.Add(file);
        return data;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void An_examples_pipelines_file_is_valid(string file)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Unbundled:Pipelines:File"] = file }).Build();
        var unbundled = UnbundledApp.AddUnbundledServices(new ServiceCollection(), configuration, u => u.AddTodoApp());
        var document = unbundled.Services.Single(s => s.ServiceType == typeof(Unbundled.Pipelines.Definition.PipelinesDocument)).ImplementationInstance;
        Assert.NotNull(document);
        Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(file)!, "README.md")), $"{file} has no README beside it");
    }
}

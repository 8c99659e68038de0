using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Unbundled.Pipelines.Leases;
using Unbundled.Server;

namespace Unbundled.Tests.Server;

/// <summary>How a server instance is named among others: in status, in its lease sessions and in per-instance consumer groups.</summary>
public sealed class InstanceNameTests
{
    [Theory]
    [InlineData(null, "http://127.0.0.1:5999", "{host}:5999")]
    [InlineData(null, "http://*:7000;http://127.0.0.1:7001", "{host}:7000")]
    [InlineData("blue", "http://127.0.0.1:5999", "blue")]
    [InlineData(null, "http://127.0.0.1:0", null)]
    public void An_instance_is_named_by_configuration_else_by_its_host_and_port(string? configured, string urls, string? expected)
    {
        var settings = new Dictionary<string, string?> { ["urls"] = urls, ["Unbundled:Pipelines:File"] = "", ["Unbundled:Instance"] = configured };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var unbundled = UnbundledApp.AddUnbundledServices(new ServiceCollection(), configuration, _ => { });
        using var services = unbundled.Services.BuildServiceProvider();

        var instance = services.GetRequiredService<IOptions<PipelineLeaseOptions>>().Value.Instance;

        Assert.Equal(expected?.Replace("{host}", Environment.MachineName), instance);
    }
}

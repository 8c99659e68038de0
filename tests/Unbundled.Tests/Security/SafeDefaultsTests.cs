using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Server;
using Unbundled.Tests.Server;

namespace Unbundled.Tests.Security;

/// <summary>What a careless operator gets: refusals where the server would be exposed, and headers believed only from trusted proxies.</summary>
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class SafeDefaultsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string[] Embedded(params string[] settings) =>
        ["--Unbundled:Log:Provider=sqlite", $"--Unbundled:Log:Sqlite:Path={_directory.File($"{Guid.NewGuid():N}.db")}", "--Unbundled:Redis:Connection=", .. settings];

    [Fact]
    public void A_server_on_every_interface_without_authentication_refuses_to_start()
    {
        var refusal = Assert.Throws<InvalidOperationException>(() => UnbundledApp.Build(Embedded("--urls=http://0.0.0.0:0"), application: unbundled => unbundled.AddTodoApp()));

        Assert.Contains("without authentication", refusal.Message);
        Assert.Contains("--allow-anonymous", refusal.Message);
    }

    [Theory]
    [InlineData("--Unbundled:Auth:AllowAnonymous=true")]
    [InlineData("--Unbundled:Auth:ApiKeys:0:Name=ops")]
    public async Task It_starts_there_when_the_operator_allows_anonymous_callers_or_configures_authentication(string setting)
    {
        string[] settings = setting.Contains("ApiKeys") ? [setting, "--Unbundled:Auth:ApiKeys:0:Sha256=" + new string('0', 64)] : [setting];
        await using var app = UnbundledApp.Build(Embedded(["--urls=http://0.0.0.0:0", .. settings]), application: unbundled => unbundled.AddTodoApp());
        await app.StartAsync();
        await app.StopAsync();
    }

    [Theory]
    [InlineData(true, "proxied-user")]
    [InlineData(false, "anonymous")]
    public async Task The_trusted_user_header_is_believed_only_from_a_configured_proxy(bool trusted, string expected)
    {
        string[] settings = trusted ? ["--Unbundled:Server:TrustedUserHeader=X-User", "--Unbundled:Server:TrustedProxies:0=127.0.0.1"] : ["--Unbundled:Server:TrustedUserHeader=X-User", "--Unbundled:Server:TrustedProxies:0=10.9.8.7"];
        await using var server = await RunningServer.StartAsync(settings);
        server.Client.DefaultRequestHeaders.Add("X-User", "proxied-user");

        var response = await server.Client.PostAsync("/models/todo-list/who/flush", new StringContent(
            """{"baseVersion":0,"commands":[{"op":"create","path":"","value":{"title":"L","todos":[]}}]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(expected, (string?)(await response.Content.ReadFromJsonAsync<JsonObject>())!["commands"]![0]!["meta"]!["by"]);
    }

    [Fact]
    public async Task Only_configured_origins_get_cors_headers()
    {
        await using var server = await RunningServer.StartAsync("--Unbundled:Server:CorsOrigins:0=https://app.example");

        async Task<string?> AllowedOriginAsync(string origin)
        {
            var request = new HttpRequestMessage(HttpMethod.Options, "/models/todo-list/x/flush");
            request.Headers.Add("Origin", origin);
            request.Headers.Add("Access-Control-Request-Method", "POST");
            request.Headers.Add("Access-Control-Request-Headers", "content-type");
            var response = await server.Client.SendAsync(request);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
        }

        Assert.Equal("https://app.example", await AllowedOriginAsync("https://app.example"));
        Assert.Null(await AllowedOriginAsync("https://evil.example"));
    }

    public void Dispose() => _directory.Dispose();
}

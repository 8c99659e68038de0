using Unbundled.Testing;
using Unbundled.Client;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Feeds;

/// <summary>
/// Two real server processes on one PostgreSQL log, as behind a load balancer: changes written through
/// either reach subscribers on both, and subscribers whose server is killed resume on the other one,
/// or on the same one after it restarted, with nothing missed or repeated.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class FeedScaleOutTests(PostgresServer postgres) : IAsyncLifetime
{
    private readonly string _schema = PostgresServer.UniqueSchema(nameof(FeedScaleOutTests));
    private const int Channels = 10;
    private const int Subscribers = 40;
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task Subscribers_follow_across_two_instances_through_kills_and_restarts()
    {
        var pipelines = _directory.File("pipelines.yaml");
        await File.WriteAllTextAsync(pipelines, FeedWorkload.Yaml());
        var environment = new Dictionary<string, string> { ["UNBUNDLED_POSTGRES"] = postgres.ConnectionString };
        string[] settings = [$"--Unbundled:Log:Postgres:Schema={_schema}", $"--Unbundled:Pipelines:File={pipelines}"];
        var ports = new[] { ServerProcess.FreePort(), ServerProcess.FreePort() };
        var servers = new ServerProcess?[2];
        servers[0] = await ServerProcess.StartAsync(ports[0], environment, settings);
        servers[1] = await ServerProcess.StartAsync(ports[1], environment, settings);
        var addresses = servers.Select(s => s!.Address).ToArray();
        using var clients = new HttpClientPair(addresses);
        try
        {
            var writes = new FeedWorkload(clients[0]);
            for (var list = 0; list < Channels; list++) await writes.WriteAsync($"lb{list}", via: clients[list % 2]);
            const int rounds = 9;

            // Half the subscribers start on each instance; when theirs goes away they move to the other.
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var followers = Enumerable.Range(0, Subscribers).Select(i => Task.Run(async () =>
            {
                var order = i % 2 == 0 ? addresses : addresses.Reverse().ToArray();
                var client = new FeedClient(clients[0], order, i % 4 < 2 ? FeedTransport.ServerSentEvents : FeedTransport.WebSocket) { MaxFailures = 100 };
                var positions = new List<long>();
                await foreach (var message in client.FollowAsync("lists", FeedWorkload.Channel($"lb{i % Channels}"), 0, deadline.Token))
                {
                    if (message.IsChange) positions.Add(message.Position);
                    if (positions.Count == rounds + 1) break;
                }
                return (Positions: positions, client.Reconnects);
            })).ToList();

            async Task RoundAsync(int via)
            {
                for (var list = 0; list < Channels; list++) await writes.WriteAsync($"lb{list}", via: clients[via]);
            }

            await RoundAsync(0);
            await RoundAsync(1);
            await RoundAsync(0);
            servers[0]!.Kill();
            await RoundAsync(1);
            await RoundAsync(1);
            servers[0] = await ServerProcess.StartAsync(ports[0], environment, settings);
            await RoundAsync(0);
            await RoundAsync(0);
            servers[1]!.Kill();
            await RoundAsync(0);
            servers[1] = await ServerProcess.StartAsync(ports[1], environment, settings);
            await RoundAsync(1);
            var received = await Task.WhenAll(followers);

            for (var i = 0; i < Subscribers; i++) Assert.Equal(writes.PositionsOf(FeedWorkload.Channel($"lb{i % Channels}")), received[i].Positions);
            // Every subscriber lost its server at least once (each instance was killed), and came back.
            Assert.All(received, r => Assert.True(r.Reconnects > 0));
        }
        finally
        {
            foreach (var server in servers) server?.Dispose();
        }
    }

    public Task InitializeAsync() => Task.CompletedTask;

    // The log's schema goes with the test: each run left one behind before.
    public async Task DisposeAsync()
    {
        await postgres.DropSchemaAsync(_schema);
        _directory.Dispose();
    }

    /// <summary>One HttpClient per server address.</summary>
    private sealed class HttpClientPair(Uri[] addresses) : IDisposable
    {
        private readonly HttpClient[] _clients = addresses.Select(a => new HttpClient { BaseAddress = a, Timeout = TimeSpan.FromSeconds(10) }).ToArray();

        public HttpClient this[int index] => _clients[index];

        public void Dispose()
        {
            foreach (var client in _clients) client.Dispose();
        }
    }
}

using Unbundled.Testing;

namespace Unbundled.Tests.Services;

/// <summary>A real Redis for the tests: <c>UNBUNDLED_REDIS</c> when set, else the one compose/local-services.sh starts.</summary>
public sealed class RedisServer : IAsyncLifetime
{
    /// <summary>The StackExchange.Redis configuration string.</summary>
    public string Connection { get; private set; } = "";

    /// <inheritdoc />
    public async Task InitializeAsync() => Connection = await LocalServices.GetAsync("UNBUNDLED_REDIS");

    /// <inheritdoc />
    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>Tests that share the one Redis server.</summary>
[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Redis";
}

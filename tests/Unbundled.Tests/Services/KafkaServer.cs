using System.Diagnostics;
using Confluent.Kafka;
using Unbundled.Testing;

namespace Unbundled.Tests.Services;

/// <summary>
/// A Kafka-protocol cluster for the tests: <c>UNBUNDLED_KAFKA</c> when set (a real cluster); else a Testcontainers
/// Kafka (KRaft) when a Docker engine is reachable; else librdkafka's mock cluster of three brokers in this
/// process, which other processes (kcat, servers) reach too.
/// </summary>
public sealed class KafkaServer : IAsyncLifetime
{
    private LocalKafka? _kafka;
    private Testcontainers.Kafka.KafkaContainer? _container;

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("UNBUNDLED_KAFKA") is not { Length: > 0 } && DockerEngine.IsReachable)
        {
            _container = new Testcontainers.Kafka.KafkaBuilder("apache/kafka:3.9.0").Build();
            await _container.StartAsync();
        }
        _kafka = new LocalKafka(_container?.GetBootstrapAddress());
    }

    /// <summary>The bootstrap servers.</summary>
    public string Brokers => Kafka.Brokers;

    private LocalKafka Kafka => _kafka ?? throw new InvalidOperationException("the Kafka server is not started");

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions.</summary>
    public Task CreateTopicAsync(string topic, int partitions) => Kafka.CreateTopicAsync(topic, partitions);

    /// <summary>A producer of raw bytes to this cluster.</summary>
    public IProducer<byte[]?, byte[]?> Producer() =>
        new ProducerBuilder<byte[]?, byte[]?>(new ProducerConfig { BootstrapServers = Brokers, EnableIdempotence = true, LingerMs = 0 }).Build();

    /// <summary>Runs Debian's kcat against this cluster, an independent Kafka client; returns its standard output.</summary>
    public async Task<string> KcatAsync(string input, params string[] arguments)
    {
        var start = new ProcessStartInfo("kcat", ["-b", Brokers, .. arguments]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var kcat = Process.Start(start) ?? throw new InvalidOperationException("kcat did not start (apt-get install kafkacat)");
        var output = kcat.StandardOutput.ReadToEndAsync();
        var errors = kcat.StandardError.ReadToEndAsync();
        await kcat.StandardInput.WriteAsync(input);
        kcat.StandardInput.Close();
        await kcat.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        if (kcat.ExitCode != 0) throw new InvalidOperationException($"kcat {string.Join(' ', arguments)} exited with {kcat.ExitCode}: {await errors}");
        return await output;
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        _kafka?.Dispose();
        if (_container is not null) await _container.DisposeAsync();
    }
}

/// <summary>Tests that share the one Kafka cluster.</summary>
[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaServer>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Kafka";
}

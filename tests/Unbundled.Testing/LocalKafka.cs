using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Unbundled.Connectors.Kafka.Mock;

namespace Unbundled.Testing;

/// <summary>
/// A Kafka cluster for tests and benchmarks: the brokers given (by default <c>UNBUNDLED_KAFKA</c>), else
/// librdkafka's mock cluster of three brokers in this process, which other processes (kcat, servers) reach too.
/// </summary>
public sealed class LocalKafka : IDisposable
{
    private readonly MockCluster? _mock;

    /// <summary>Uses <paramref name="brokers"/>, or <c>UNBUNDLED_KAFKA</c>, or starts the mock cluster.</summary>
    public LocalKafka(string? brokers = null)
    {
        if ((brokers ?? Environment.GetEnvironmentVariable("UNBUNDLED_KAFKA")) is { Length: > 0 } given) Brokers = given;
        else
        {
            _mock = new MockCluster(brokers: 3);
            Brokers = _mock.BootstrapServers;
        }
    }

    /// <summary>The bootstrap servers.</summary>
    public string Brokers { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions.</summary>
    public async Task CreateTopicAsync(string topic, int partitions)
    {
        if (_mock is not null)
        {
            _mock.CreateTopic(topic, partitions);
            return;
        }
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Brokers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    /// <inheritdoc />
    public void Dispose() => _mock?.Dispose();
}

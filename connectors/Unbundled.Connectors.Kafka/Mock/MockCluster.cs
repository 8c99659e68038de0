using System.Runtime.InteropServices;
using System.Text;
using Unbundled.Connectors.Kafka.Native;

namespace Unbundled.Connectors.Kafka.Mock;

/// <summary>
/// librdkafka's in-process mock cluster: real Kafka-protocol brokers on loopback ports, inside the native
/// library Confluent.Kafka ships. For tests, benchmarks and trials where no Kafka server can run; any
/// Kafka client (kcat, another process) reaches it at <see cref="BootstrapServers"/> while this object lives.
/// </summary>
public sealed unsafe class MockCluster : IDisposable
{
    private readonly nint _client;
    private nint _cluster;

    /// <summary>Starts a cluster of <paramref name="brokers"/> brokers.</summary>
    public MockCluster(int brokers = 3)
    {
        var native = Librdkafka.Instance;
        var error = new byte[512];
        var conf = native.ConfNew();
        fixed (byte* buffer = error)
        {
            // A producer handle only hosts the cluster's threads; it never produces. It owns the conf once created.
            _client = native.New(0, conf, buffer, (nuint)error.Length);
        }
        if (_client == 0)
        {
            native.ConfDestroy(conf);
            throw new InvalidOperationException($"librdkafka refused a client for the mock cluster: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");
        }
        _cluster = native.MockClusterNew(_client, brokers);
        if (_cluster == 0)
        {
            native.Destroy(_client);
            throw new InvalidOperationException("librdkafka could not start a mock cluster");
        }
        BootstrapServers = Marshal.PtrToStringUTF8(native.MockClusterBootstraps(_cluster))!;
    }

    /// <summary>The brokers' addresses, as <c>bootstrap.servers</c> takes them.</summary>
    public string BootstrapServers { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions (topics a client names are otherwise created with 4).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var code = Librdkafka.Instance.MockTopicCreate(_cluster, topic, partitions, replicationFactor);
        if (code != 0) throw new InvalidOperationException($"the mock cluster refused topic '{topic}' (librdkafka error {code})");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_cluster == 0) return;
        Librdkafka.Instance.MockClusterDestroy(_cluster);
        Librdkafka.Instance.Destroy(_client);
        _cluster = 0;
    }
}

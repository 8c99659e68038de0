using System.Runtime.InteropServices;
using System.Text;

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
        var native = Native.Instance;
        var error = new byte[512];
        fixed (byte* buffer = error)
        {
            // A producer handle only hosts the cluster's threads; it never produces.
            _client = native.New(0, native.ConfNew(), buffer, (nuint)error.Length);
        }
        if (_client == 0) throw new InvalidOperationException($"librdkafka refused a client for the mock cluster: {Encoding.UTF8.GetString(error).TrimEnd('\0')}");
        _cluster = native.MockClusterNew(_client, brokers);
        if (_cluster == 0) throw new InvalidOperationException("librdkafka could not start a mock cluster");
        BootstrapServers = Marshal.PtrToStringUTF8(native.MockClusterBootstraps(_cluster))!;
    }

    /// <summary>The brokers' addresses, as <c>bootstrap.servers</c> takes them.</summary>
    public string BootstrapServers { get; }

    /// <summary>Creates <paramref name="topic"/> with <paramref name="partitions"/> partitions (topics a client names are otherwise created with 4).</summary>
    public void CreateTopic(string topic, int partitions, int replicationFactor = 1)
    {
        var code = Native.Instance.MockTopicCreate(_cluster, topic, partitions, replicationFactor);
        if (code != 0) throw new InvalidOperationException($"the mock cluster refused topic '{topic}' (librdkafka error {code})");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_cluster == 0) return;
        Native.Instance.MockClusterDestroy(_cluster);
        Native.Instance.Destroy(_client);
        _cluster = 0;
    }

    /// <summary>The few librdkafka functions Confluent.Kafka does not wrap, from the same native library it loads.</summary>
    private sealed class Native
    {
        public static readonly Native Instance = new();

        public readonly delegate* unmanaged<nint> ConfNew;
        public readonly delegate* unmanaged<int, nint, byte*, nuint, nint> New;
        public readonly delegate* unmanaged<nint, void> Destroy;
        public readonly delegate* unmanaged<nint, int, nint> MockClusterNew;
        public readonly delegate* unmanaged<nint, nint> MockClusterBootstraps;
        public readonly delegate* unmanaged<nint, void> MockClusterDestroy;
        private readonly delegate* unmanaged<nint, byte*, int, int, int> _topicCreate;

        private Native()
        {
            var library = Load();
            ConfNew = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "rd_kafka_conf_new");
            New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)NativeLibrary.GetExport(library, "rd_kafka_new");
            Destroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_destroy");
            MockClusterNew = (delegate* unmanaged<nint, int, nint>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_new");
            MockClusterBootstraps = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_bootstraps");
            MockClusterDestroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_destroy");
            _topicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_topic_create");
        }

        public int MockTopicCreate(nint cluster, string topic, int partitions, int replicationFactor)
        {
            var name = Encoding.UTF8.GetBytes(topic + "\0");
            fixed (byte* pointer = name) return _topicCreate(cluster, pointer, partitions, replicationFactor);
        }

        /// <summary>The librdkafka that Confluent.Kafka's package placed beside the application (runtimes/&lt;rid&gt;/native).</summary>
        private static nint Load()
        {
            Confluent.Kafka.Library.Load();
            var file = OperatingSystem.IsWindows() ? "librdkafka.dll" : OperatingSystem.IsMacOS() ? "librdkafka.dylib" : "librdkafka.so";
            var rid = RuntimeInformation.RuntimeIdentifier;
            var architecture = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
            var os = OperatingSystem.IsWindows() ? "win" : OperatingSystem.IsMacOS() ? "osx" : "linux";
            foreach (var directory in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(typeof(Confluent.Kafka.Library).Assembly.Location) ?? "" })
            {
                // The package's glibc build links libsasl2.so.3, which older distributions (Debian 12) lack; its CentOS 8 build does not.
                foreach (var native in new[] { Path.Combine(directory, "runtimes", rid, "native"), Path.Combine(directory, "runtimes", $"{os}-{architecture}", "native"), directory })
                foreach (var variant in new[] { file, $"centos8-{file}", $"alpine-{file}" })
                {
                    var candidate = Path.Combine(native, variant);
                    if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out var handle)) return handle;
                }
            }
            throw new DllNotFoundException($"librdkafka ({file}) was not found beside the application; Confluent.Kafka's librdkafka.redist package places it under runtimes/{rid}/native");
        }
    }
}

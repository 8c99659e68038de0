using System.Runtime.InteropServices;
using System.Text;

namespace Unbundled.Connectors.Kafka.Native;

/// <summary>The few librdkafka functions Confluent.Kafka does not wrap, from the same native library it loads.</summary>
internal sealed unsafe class Librdkafka
{
    public static readonly Librdkafka Instance = new();

    public readonly delegate* unmanaged<nint> ConfNew;
    public readonly delegate* unmanaged<int, nint, byte*, nuint, nint> New;
    public readonly delegate* unmanaged<nint, void> Destroy;
    public readonly delegate* unmanaged<nint, int, nint> MockClusterNew;
    public readonly delegate* unmanaged<nint, nint> MockClusterBootstraps;
    public readonly delegate* unmanaged<nint, void> MockClusterDestroy;
    private readonly delegate* unmanaged<nint, byte*, int, int, int> _topicCreate;
    private readonly delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int> _confSet;
    public readonly delegate* unmanaged<nint, void> ConfDestroy;

    private Librdkafka()
    {
        var library = Load();
        ConfNew = (delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "rd_kafka_conf_new");
        New = (delegate* unmanaged<int, nint, byte*, nuint, nint>)NativeLibrary.GetExport(library, "rd_kafka_new");
        Destroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_destroy");
        MockClusterNew = (delegate* unmanaged<nint, int, nint>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_new");
        MockClusterBootstraps = (delegate* unmanaged<nint, nint>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_bootstraps");
        MockClusterDestroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_mock_cluster_destroy");
        _topicCreate = (delegate* unmanaged<nint, byte*, int, int, int>)NativeLibrary.GetExport(library, "rd_kafka_mock_topic_create");
        _confSet = (delegate* unmanaged<nint, byte*, byte*, byte*, nuint, int>)NativeLibrary.GetExport(library, "rd_kafka_conf_set");
        ConfDestroy = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(library, "rd_kafka_conf_destroy");
    }

    public int MockTopicCreate(nint cluster, string topic, int partitions, int replicationFactor)
    {
        var name = Encoding.UTF8.GetBytes(topic + "\0");
        fixed (byte* pointer = name) return _topicCreate(cluster, pointer, partitions, replicationFactor);
    }

    /// <summary>librdkafka's own verdict on one setting (an unknown name, a value out of range), or null when it takes it.</summary>
    public string? Refusal(string name, string value)
    {
        var conf = ConfNew();
        try
        {
            var (nameBytes, valueBytes, error) = (Encoding.UTF8.GetBytes(name + "\0"), Encoding.UTF8.GetBytes(value + "\0"), new byte[512]);
            fixed (byte* namePointer = nameBytes)
            fixed (byte* valuePointer = valueBytes)
            fixed (byte* errorPointer = error)
            {
                return _confSet(conf, namePointer, valuePointer, errorPointer, (nuint)error.Length) == 0 ? null : Encoding.UTF8.GetString(error).TrimEnd('\0').TrimEnd();
            }
        }
        finally
        {
            ConfDestroy(conf);
        }
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

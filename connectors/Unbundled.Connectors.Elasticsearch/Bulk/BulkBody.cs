using System.Buffers;
using Elastic.Transport;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Connectors.Elasticsearch.Bulk;

/// <summary>
/// A sink's bulk request body, written by <see cref="BulkRequestWriter"/> into one buffer reused from
/// request to request (the worker writes one batch at a time) and handed to the transport as it is.
/// </summary>
public sealed class BulkBody
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>Writes the body for <paramref name="documents"/> into <paramref name="index"/>, replacing the previous one; valid until the next call.</summary>
    public PostData Write(string index, IReadOnlyList<SinkDocument> documents)
    {
        _buffer.ResetWrittenCount();
        BulkRequestWriter.Write(index, documents, _buffer);
        return PostData.ReadOnlyMemory(_buffer.WrittenMemory);
    }
}

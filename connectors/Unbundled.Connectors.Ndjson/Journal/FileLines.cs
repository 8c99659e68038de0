using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Unbundled.Connectors.Ndjson.Journal;

/// <summary>One newline-terminated line of a file: where it starts and its bytes without the newline.</summary>
/// <param name="Offset">The byte offset of its first byte.</param>
/// <param name="Bytes">Its bytes; valid only until the reader moves on.</param>
internal readonly record struct FileLine(long Offset, ReadOnlyMemory<byte> Bytes)
{
    /// <summary>The offset just past its newline.</summary>
    public long End => Offset + Bytes.Length + 1;
}

/// <summary>Splits a file into its newline-terminated lines, streaming, with one buffer that grows to the longest line.</summary>
internal static class FileLines
{
    private const int InitialBufferSize = 64 * 1024;

    /// <summary>The lines of the first <paramref name="length"/> bytes of <paramref name="file"/>; an unterminated tail is not a line.</summary>
    public static async IAsyncEnumerable<FileLine> ReadAsync(
        SafeFileHandle file, long length, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = new byte[InitialBufferSize];
        long bufferStart = 0, readAt = 0;
        int start = 0, filled = 0;
        while (true)
        {
            var newline = buffer.AsSpan(start, filled - start).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                yield return new FileLine(bufferStart + start, buffer.AsMemory(start, newline));
                start += newline + 1;
                continue;
            }
            if (readAt >= length) yield break;

            if (start > 0)
            {
                Buffer.BlockCopy(buffer, start, buffer, 0, filled - start);
                bufferStart += start;
                filled -= start;
                start = 0;
            }
            if (filled == buffer.Length) Array.Resize(ref buffer, buffer.Length * 2);

            var want = (int)Math.Min(buffer.Length - filled, length - readAt);
            var read = await RandomAccess.ReadAsync(file, buffer.AsMemory(filled, want), readAt, cancellationToken);
            if (read == 0) yield break;
            filled += read;
            readAt += read;
        }
    }
}

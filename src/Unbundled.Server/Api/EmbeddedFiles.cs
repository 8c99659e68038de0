using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Unbundled.Server.Api;

/// <summary>
/// Files embedded in the server at build time under one logical-name prefix, served as they are: the set
/// is fixed when the server is built, so no request path ever reaches the file system.
/// </summary>
internal sealed class EmbeddedFiles(string prefix)
{
    private readonly Lazy<FrozenDictionary<string, byte[]>> _files = new(() =>
        typeof(EmbeddedFiles).Assembly.GetManifestResourceNames()
            .Where(name => name.StartsWith(prefix, StringComparison.Ordinal))
            .ToFrozenDictionary(name => name[prefix.Length..], Read, StringComparer.Ordinal));

    /// <summary>The file named <paramref name="file"/> with its content type, or 404.</summary>
    public IResult Serve(string file) =>
        _files.Value.TryGetValue(file, out var bytes)
            ? Results.Bytes(bytes, ContentType(file))
            : Results.NotFound();

    private static string ContentType(string file) => Path.GetExtension(file) switch
    {
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        _ => "text/html; charset=utf-8",
    };

    private static byte[] Read(string name)
    {
        using var resource = typeof(EmbeddedFiles).Assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        resource.CopyTo(copy);
        return copy.ToArray();
    }
}

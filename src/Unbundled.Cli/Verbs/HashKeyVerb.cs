using System.CommandLine;
using System.Security.Cryptography;
using Unbundled.Server.Security;

namespace Unbundled.Cli.Verbs;

/// <summary><c>unbundled hash-key</c>: a new API key and the SHA-256 the configuration keeps instead of it.</summary>
internal static class HashKeyVerb
{
    public static Command Create()
    {
        var key = new Argument<string?>("key") { Description = "The key to hash; a new random key when omitted.", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("hash-key", "Print an API key and its SHA-256 for Unbundled:Auth:ApiKeys (the server stores only the hash).") { key };
        command.SetAction(parsed =>
        {
            var value = parsed.GetValue(key) ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            Console.WriteLine($"key:    {value}");
            Console.WriteLine($"sha256: {ApiKeyAuthenticationHandler.Hash(value)}");
            return 0;
        });
        return command;
    }
}

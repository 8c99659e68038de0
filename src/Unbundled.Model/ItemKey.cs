namespace Unbundled.Model;

/// <summary>
/// A path segment that picks an array item by identity rather than position: <c>[id=abc]</c> selects
/// the one item whose member <c>id</c> is the string <c>abc</c>. Positions move when other clients
/// delete or reorder items before a flush is rebased; identities do not, so an edit lands on the item
/// its author meant or is refused. On an object the same token is an ordinary member name, just as
/// digits are (RFC 6901 reads a token by the node it is applied to).
/// </summary>
public readonly record struct ItemKey(string Member, string Value)
{
    /// <summary>Reads <c>[member=value]</c>; the member is not empty, the value may hold any character.</summary>
    public static bool TryParse(string token, out ItemKey key)
    {
        key = default;
        if (token.Length < 4 || token[0] != '[' || token[^1] != ']') return false;
        var equals = token.IndexOf('=');
        if (equals < 2 || equals > token.Length - 2) return false;
        key = new ItemKey(token[1..equals], token[(equals + 1)..^1]);
        return true;
    }

    /// <summary>The segment as written in a path, escaped for JSON Pointer.</summary>
    public string ToSegment() => DocumentPath.Escape("[" + Member + "=" + Value + "]");

    /// <inheritdoc />
    public override string ToString() => $"{Member} '{Value}'";
}

namespace Unbundled.Model;

/// <summary>Identifies one model: its registered type and its id within that type.</summary>
public readonly record struct ModelKey(string Type, string Id)
{
    /// <inheritdoc />
    public override string ToString() => $"{Type}/{Id}";
}

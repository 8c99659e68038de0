namespace Unbundled.Model;

/// <summary>A model type the master accepts, with its interceptors in the order they run.</summary>
public sealed record ModelType(string Name, IReadOnlyList<ICommandInterceptor> Interceptors);

/// <summary>The model types registered in code; flushes to any other type are refused.</summary>
public sealed class ModelTypeRegistry(IEnumerable<ModelType> types)
{
    private readonly Dictionary<string, ModelType> _types = types.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>The registered type of that name, if any.</summary>
    public bool TryGet(string name, out ModelType type) => _types.TryGetValue(name, out type!);

    /// <summary>All registered type names.</summary>
    public IReadOnlyCollection<string> Names => _types.Keys;
}

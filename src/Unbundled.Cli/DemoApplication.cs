using Microsoft.Extensions.DependencyInjection;
using Unbundled.Hosting;

namespace Unbundled.Cli;

/// <summary>
/// The application the CLI serves: the demo's collaborative todo lists (projections/Unbundled.TodoApp).
/// The server itself knows no application; an embedding host registers its own model types instead.
/// </summary>
internal static class DemoApplication
{
    /// <summary>Registers the demo's model type, interceptors and projections.</summary>
    public static void Register(UnbundledBuilder unbundled) => unbundled.AddTodoApp();
}

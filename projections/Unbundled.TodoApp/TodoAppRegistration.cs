using Unbundled.Hosting;
using Unbundled.Model.Interceptors;
using Unbundled.TodoApp.Model;
using Unbundled.TodoApp.Projections;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the demo todo-list application.</summary>
public static class TodoAppRegistration
{
    /// <summary>Adds the <c>todo-list</c> model type with its interceptors, and the app's named projections (todo-items, list-summaries).</summary>
    public static UnbundledBuilder AddTodoApp(this UnbundledBuilder builder, int maxTodosPerList = 100) =>
        builder
            .AddModelType(TodoList.TypeName, type => type
                .Use(new CallerIdentityInterceptor())
                .Use(new TodoStampInterceptor())
                .Use(new MaxTodosInterceptor(maxTodosPerList)))
            .AddProjection(new TodoItemsProjection())
            .AddProjection(new ListSummariesProjection());
}

using Unbundled.Hosting;
using Unbundled.Model.Interceptors;
using Unbundled.TodoApp.Model;
using Unbundled.TodoApp.Projections;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the demo todo-list application.</summary>
public static class TodoAppRegistration
{
    /// <summary>Adds the <c>todo-list</c> model type with its interceptors, the <c>user</c> profiles the todos' authors are joined with, and the app's named projections (todo-items, list-summaries).</summary>
    public static UnbundledBuilder AddTodoApp(this UnbundledBuilder builder, int maxTodosPerList = 100) =>
        builder
            .AddModelType(TodoList.TypeName, type => type
                .Use(new CallerIdentityInterceptor())
                .Use(new TodoStampInterceptor())
                .Use(new MaxTodosInterceptor(maxTodosPerList)))
            // A person's profile ({ "name": … }), keyed by the name the server knows them by.
            .AddModelType("user", type => type.Use(new CallerIdentityInterceptor()).Use(new OwnProfileInterceptor()))
            .AddProjection(new TodoItemsProjection())
            .AddProjection(new ListSummariesProjection());
}

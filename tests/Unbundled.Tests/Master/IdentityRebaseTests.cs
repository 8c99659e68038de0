using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Unbundled.Log.Sqlite;
using Unbundled.Master;
using Unbundled.Model;
using Unbundled.Model.Interceptors;
using Unbundled.TodoApp.Model;

namespace Unbundled.Tests.Master;

/// <summary>
/// Issue #15's bug: one client deletes "Milk" while another, not yet aware, ticks it. Addressed by
/// index the tick was rebased onto "Bread"; addressed by id it is refused, naming the command.
/// </summary>
public sealed class IdentityRebaseTests : IDisposable
{
    private static readonly ModelKey List = new(TodoList.TypeName, "groceries");
    private readonly TempDirectory _directory = new();
    private readonly List<IDisposable> _owned = [];

    [Fact]
    public async Task A_tick_on_a_todo_deleted_meanwhile_is_refused_as_item_missing_instead_of_landing_on_the_next_one()
    {
        var master = await CreateAsync();
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Todo("milk", "Milk"), Todo("bread", "Bread")]), default);
        await master.FlushAsync(new FlushRequest(List, 3, [Command(CommandOp.Delete, "/todos/[id=milk]")]), default);

        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(new FlushRequest(List, 3,
            [Command(CommandOp.Update, "/todos/[id=bread]/title", "\"Rye bread\""), Command(CommandOp.Update, "/todos/[id=milk]/done", "true")]), default));

        Assert.Equal(FlushError.ItemMissing, rejection.Error);
        Assert.Equal(1, rejection.CommandIndex);
        Assert.Equal("update /todos/[id=milk]/done", rejection.Command);
        var state = (await master.ReadAsync(List, null, default)).Document!;
        Assert.Equal("""[{"id":"bread","title":"Bread"}]""", Strip(state["todos"]!));
    }

    [Fact]
    public async Task A_move_by_identity_rebased_after_a_delete_puts_the_item_where_its_author_meant()
    {
        var master = await CreateAsync();
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Todo("a", "A"), Todo("b", "B"), Todo("c", "C")]), default);
        await master.FlushAsync(new FlushRequest(List, 4, [Command(CommandOp.Delete, "/todos/[id=a]")]), default);

        // Based on version 4, the author moved C before B; the delete of A in between does not matter.
        await master.FlushAsync(new FlushRequest(List, 4, [new Command { Op = CommandOp.Move, From = "/todos/[id=c]", Path = "/todos/[id=b]" }]), default);

        var state = (await master.ReadAsync(List, null, default)).Document!;
        Assert.Equal("c,b", string.Join(",", state["todos"]!.AsArray().Select(t => (string)t!["id"]!)));
    }

    [Theory]
    [InlineData("""{"id":"has space"}""", "a todo's id is 1 to 64 letters, digits, '-' or '_' (or leave it out and the server sets one)")]
    [InlineData("""{"id":7}""", "a todo's id is 1 to 64 letters, digits, '-' or '_' (or leave it out and the server sets one)")]
    [InlineData("""{"id":"milk"}""", "the list already has a todo with id 'milk'")]
    public async Task A_client_id_must_be_well_formed_and_unused(string todo, string reason)
    {
        var master = await CreateAsync();
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Todo("milk", "Milk")]), default);

        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() =>
            master.FlushAsync(new FlushRequest(List, 2, [Command(CommandOp.Create, "/todos/-", todo)]), default));

        Assert.Equal(reason, rejection.Message);
    }

    [Fact]
    public async Task A_todo_keeps_its_id_and_stamps_whatever_an_update_says_and_its_id_cannot_be_edited()
    {
        var master = await CreateAsync();
        var created = await master.FlushAsync(new FlushRequest(List, 0, [NewList, Todo("0b6c1f9e-2d4a-4f7e-9a51-3c2e8d7f6a10", "Milk")]), default);
        var stamp = (string?)created.Commands![1].Command.Value!["createdAt"];

        await master.FlushAsync(new FlushRequest(List, 2, [Command(CommandOp.Update, "/todos/0", """{"id":"other","title":"Oat milk"}""")]), default);
        var rejection = await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(new FlushRequest(List, 3,
            [Command(CommandOp.Update, "/todos/[id=0b6c1f9e-2d4a-4f7e-9a51-3c2e8d7f6a10]/id", "\"x\"")]), default));

        var todo = (await master.ReadAsync(List, null, default)).Document!["todos"]![0]!;
        Assert.Equal("0b6c1f9e-2d4a-4f7e-9a51-3c2e8d7f6a10", (string?)todo["id"]);
        Assert.Equal("Oat milk", (string?)todo["title"]);
        Assert.Equal(stamp, (string?)todo["createdAt"]);
        Assert.Equal("a todo's id cannot change: it is how edits find the todo", rejection.Message);
    }

    [Fact]
    public async Task A_todo_cannot_be_moved_out_of_the_list_or_in_from_elsewhere()
    {
        var master = await CreateAsync();
        await master.FlushAsync(new FlushRequest(List, 0, [NewList, Todo("a", "A"), Command(CommandOp.Create, "/spare", """{"id":"s"}""")]), default);

        await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(new FlushRequest(List, 3,
            [new Command { Op = CommandOp.Move, From = "/todos/[id=a]", Path = "/other" }]), default));
        await Assert.ThrowsAsync<FlushRejectedException>(() => master.FlushAsync(new FlushRequest(List, 3,
            [new Command { Op = CommandOp.Move, From = "/spare", Path = "/todos/-" }]), default));
    }

    public void Dispose()
    {
        foreach (var owned in _owned) owned.Dispose();
        _directory.Dispose();
    }

    private static readonly Command NewList = Command(CommandOp.Create, "", """{"title":"Groceries","todos":[]}""");

    private static Command Todo(string id, string title) => Command(CommandOp.Create, "/todos/-", $$"""{"id":"{{id}}","title":"{{title}}"}""");

    private static Command Command(CommandOp op, string path, string? json = null) =>
        new() { Op = op, Path = path, Value = json is null ? null : JsonNode.Parse(json) };

    private static string Strip(JsonNode todos) =>
        new JsonArray(todos.AsArray().Select(t => (JsonNode)new JsonObject { ["id"] = t!["id"]!.DeepClone(), ["title"] = t["title"]!.DeepClone() }).ToArray()).ToJsonString();

    private async Task<MasterModel> CreateAsync()
    {
        var log = new SqliteCommandLog(Options.Create(new SqliteLogOptions { Path = _directory.File("log.db") }));
        await log.InitializeAsync(default);
        var types = new ModelTypeRegistry([new ModelType(TodoList.TypeName,
            [new CallerIdentityInterceptor(), new TodoStampInterceptor(), new MaxTodosInterceptor(100)])]);
        var master = new MasterModel(log, types, Options.Create(new MasterOptions()), TimeProvider.System, NullLogger<MasterModel>.Instance);
        _owned.Add(master);
        _owned.Add(log);
        return master;
    }
}

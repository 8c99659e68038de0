using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.TodoApp.Projections;

namespace Unbundled.Tests.Projections;

public sealed class TodoItemsProjectionTests
{
    private static ChangeEvent Change(ChangeOp op, string? before, string? after, long version = 3) => new()
    {
        Key = "groceries",
        Op = op,
        Before = before is null ? null : JsonNode.Parse(before),
        After = after is null ? null : JsonNode.Parse(after),
        Source = new ChangeSource { Table = "todo-list", Position = 42, Version = version },
    };

    [Fact]
    public void Each_todo_becomes_a_document_keyed_by_list_and_todo_with_the_event_version()
    {
        var documents = new TodoItemsProjection().Project(Change(ChangeOp.Update, null,
            """{"title":"Groceries","todos":[{"id":"a","title":"Milk"},{"id":"b","title":"Eggs","done":true}]}""")).ToList();

        Assert.Equal(["groceries:a", "groceries:b"], documents.Select(d => d.Key));
        Assert.All(documents, d => Assert.Equal((3L, 42L, false), (d.Version, d.Position, d.IsDelete)));
        Assert.Equal("Groceries", (string?)documents[0].Document!["listTitle"]);
        Assert.False((bool)documents[0].Document!["done"]!);
        Assert.True((bool)documents[1].Document!["done"]!);
    }

    [Fact]
    public void A_removed_todo_and_a_deleted_list_delete_their_documents()
    {
        var removed = new TodoItemsProjection().Project(Change(ChangeOp.Update,
            """{"title":"G","todos":[{"id":"a","title":"Milk"},{"id":"b","title":"Eggs"}]}""",
            """{"title":"G","todos":[{"id":"b","title":"Eggs"}]}""")).ToList();
        var deleted = new TodoItemsProjection().Project(Change(ChangeOp.Delete,
            """{"title":"G","todos":[{"id":"b","title":"Eggs"}]}""", null)).ToList();

        var delete = Assert.Single(removed, d => d.IsDelete);
        Assert.Equal("groceries:a", delete.Key);
        Assert.Equal("Milk", (string?)delete.Document!["title"]);
        Assert.Equal("groceries:b", Assert.Single(deleted).Key);
        Assert.True(deleted[0].IsDelete);
    }

    [Fact]
    public void Items_without_a_string_id_are_not_projected()
    {
        var documents = new TodoItemsProjection().Project(Change(ChangeOp.Create, null,
            """{"title":"G","todos":[{"title":"no id"},{"id":7},"text"]}"""));

        Assert.Empty(documents);
    }
}

using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;
using Unbundled.TodoApp.Projections;

namespace Unbundled.Tests.Projections;

public sealed class ListSummariesProjectionTests
{
    private static ChangeEvent Change(ChangeOp op, string? after) => new()
    {
        Key = "groceries",
        Op = op,
        After = after is null ? null : JsonNode.Parse(after),
        Source = new ChangeSource { Table = "todo-list", Position = 42, Version = 3, TsMs = 1000 },
    };

    [Fact]
    public void A_list_becomes_one_summary_with_its_title_and_counts()
    {
        var summary = Assert.Single(new ListSummariesProjection().Project(Change(ChangeOp.Update,
            """{"title":"Groceries","todos":[{"id":"a","done":true},{"id":"b","done":false},{"id":"c"}]}""")));

        Assert.Equal(("groceries", 3L, 42L, false), (summary.Key, summary.Version, summary.Position, summary.IsDelete));
        Assert.Equal("""{"id":"groceries","title":"Groceries","todos":3,"done":1,"updatedMs":1000}""", summary.Document!.ToJsonString());
    }

    [Fact]
    public void A_deleted_list_deletes_its_summary()
    {
        var summary = Assert.Single(new ListSummariesProjection().Project(Change(ChangeOp.Delete, null)));
        Assert.True(summary.IsDelete);
        Assert.Equal("groceries", summary.Key);
    }
}

using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Filtering;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;

namespace Unbundled.Tests.Pipelines.Projection;

public sealed class FilterAndSelectTests
{
    private static ChangeEvent Event(string? after, string? before = null, ChangeOp op = ChangeOp.Update) => new()
    {
        Key = "l1",
        Op = op,
        Before = before is null ? null : JsonNode.Parse(before),
        After = after is null ? null : JsonNode.Parse(after),
        Source = new ChangeSource { Table = "todo-list", Position = 9, Version = 4, TsMs = 1000 },
    };

    [Theory]
    [InlineData("after.done == false", true)]
    [InlineData("after.count > 2 and after.count <= 3", true)]
    [InlineData("after.count == 3.0", true)]
    [InlineData("after.title == \"Shop\" or after.count > 100", true)]
    [InlineData("not after.done", true)]
    [InlineData("after.missing == null", true)]
    [InlineData("after.missing", false)]
    [InlineData("after.tags.1 == \"b\"", true)]
    [InlineData("(after.done or after.count > 5) and source.table == \"todo-list\"", false)]
    [InlineData("source.version >= 4 and op == \"u\" and key == \"l1\"", true)]
    [InlineData("after.title < \"T\"", true)]
    [InlineData("after.title > 3", false)]
    public void Filters_compare_event_paths_with_literals(string expression, bool expected)
    {
        var filter = FilterCompiler.Compile(expression);

        Assert.Equal(expected, filter.Evaluate(Event("""{"title":"Shop","done":false,"count":3,"tags":["a","b"]}""")));
    }

    [Theory]
    [InlineData("after.done ==", 14, "the expression ends too soon; expected a value after the operator")]
    [InlineData("(after.done", 12, "expected ')' to close the '(' at column 1")]
    [InlineData("after.done == maybe", 15, "'maybe' is not a value; use a \"string\", a number, true, false or null")]
    [InlineData("after.done and", 15, "the expression ends too soon; expected a path")]
    public void A_filter_that_does_not_parse_says_where(string expression, int column, string message)
    {
        var error = Assert.Throws<FilterSyntaxException>(() => FilterCompiler.Compile(expression));

        Assert.Equal((column, message), (error.Column, error.Message));
    }

    [Fact]
    public void A_selection_builds_one_document_keyed_by_its_template()
    {
        var projector = new SelectProjector(new SelectProjection("list:{key}", [
            new SelectField("title", new PathValue("after.title")),
            new SelectField("label", new TemplateValue("{after.title} (v{source.version})")),
            new SelectField("kind", new LiteralValue(JsonValue.Create("list"))),
        ]));

        var document = Assert.Single(projector.Project(Event("""{"title":"Shop"}""")));

        Assert.Equal(("list:l1", 4L, 9L, false), (document.Key, document.Version, document.Position, document.IsDelete));
        Assert.Equal("""{"title":"Shop","label":"Shop (v4)","kind":"list"}""", document.Document!.ToJsonString());
    }

    [Fact]
    public void A_selection_projects_a_delete_from_the_document_before_it()
    {
        var projector = new SelectProjector(new SelectProjection("list:{after.title}", [new SelectField("title", new PathValue("after.title"))]));

        var document = Assert.Single(projector.Project(Event(null, before: """{"title":"Shop"}""", op: ChangeOp.Delete)));

        Assert.True(document.IsDelete);
        Assert.Equal("list:Shop", document.Key);
    }

    [Fact]
    public void A_spread_field_gives_the_document_the_members_of_an_object_and_named_fields_override_them()
    {
        var projector = new SelectProjector(new SelectProjection("{key}", [
            new SelectField(SelectProjector.Spread, new PathValue("after")),
            new SelectField("title", new TemplateValue("{after.title}!")),
        ]));

        var document = Assert.Single(projector.Project(Event("""{"title":"Shop","n":2}""")));

        Assert.Equal("""{"title":"Shop!","n":2}""", document.Document!.ToJsonString());
    }
}

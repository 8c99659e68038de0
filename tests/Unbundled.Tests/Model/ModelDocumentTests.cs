using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Tests.Model;

public sealed class ModelDocumentTests
{
    private static JsonNode? Apply(JsonNode? document, CommandOp op, string path, string? value = null) =>
        ModelDocument.Apply(document, new Command { Op = op, Path = path, Value = value is null ? null : JsonNode.Parse(value) }, DocumentPath.Parse(path));

    private static JsonNode Doc(string json) => JsonNode.Parse(json)!;

    [Fact]
    public void Creating_at_the_root_makes_the_document_and_deleting_there_removes_it()
    {
        var created = Apply(null, CommandOp.Create, "", """{"title":"a"}""");
        Assert.Equal("""{"title":"a"}""", created!.ToJsonString());
        Assert.Null(Apply(created, CommandOp.Delete, ""));
    }

    [Fact]
    public void Nested_objects_are_reached_by_key_and_arrays_by_index()
    {
        var doc = Doc("""{"lists":{"a":{"todos":[{"t":1},{"t":2}]}}}""");
        Apply(doc, CommandOp.Update, "/lists/a/todos/1/t", "20");
        Apply(doc, CommandOp.Create, "/lists/a/todos/0", """{"t":0}""");
        Apply(doc, CommandOp.Create, "/lists/a/todos/-", """{"t":3}""");
        Apply(doc, CommandOp.Delete, "/lists/a/todos/1");
        Assert.Equal("""{"lists":{"a":{"todos":[{"t":0},{"t":20},{"t":3}]}}}""", doc.ToJsonString());
    }

    [Fact]
    public void Escaped_pointer_tokens_address_keys_with_slashes_and_tildes()
    {
        var doc = Doc("{}");
        Apply(doc, CommandOp.Create, "/a~1b~0c", "1");
        Assert.Equal("""{"a/b~c":1}""", doc.ToJsonString());
    }

    [Theory]
    [InlineData("""{"a":1}""", CommandOp.Create, "/a", "2", "'/a' exists already; update it instead")]
    [InlineData("""{"a":1}""", CommandOp.Update, "/b", "2", "'/b' does not exist; create it first")]
    [InlineData("""{"a":1}""", CommandOp.Delete, "/b", null, "'/b' does not exist")]
    [InlineData("""{"a":[1]}""", CommandOp.Create, "/a/5", "2", "'/a/5': index 5 is past the end of an array of 1")]
    [InlineData("""{"a":[1]}""", CommandOp.Update, "/a/x", "2", "'/a/x': 'x' is not an array index or an item key like [id=abc]")]
    [InlineData("""{"a":[1]}""", CommandOp.Update, "/a/-", "2", "'/a/-': '-' (after the last item) can only be created")]
    [InlineData("""{"a":1}""", CommandOp.Update, "/a/b", "2", "'/a/b' goes inside a number, which has no members")]
    [InlineData("""{"a":{}}""", CommandOp.Update, "/a/b/c", "2", "'/a/b/c' does not exist: nothing at '/a/b'")]
    [InlineData("""{"a":1}""", CommandOp.Create, "", """{}""", "the model exists already; update it instead")]
    [InlineData("""{"a":1}""", CommandOp.Update, "/a", null, "update needs a value")]
    public void A_command_that_does_not_fit_the_document_fails_with_the_reason(string json, CommandOp op, string path, string? value, string reason)
    {
        var failure = Assert.Throws<CommandFailedException>(() => Apply(Doc(json), op, path, value));
        Assert.Equal(reason, failure.Reason);
    }

    [Fact]
    public void Commands_on_a_model_that_does_not_exist_fail()
    {
        Assert.Throws<CommandFailedException>(() => Apply(null, CommandOp.Create, "/a", "1"));
        Assert.Throws<CommandFailedException>(() => Apply(null, CommandOp.Delete, ""));
        Assert.Throws<CommandFailedException>(() => Apply(null, CommandOp.Update, "", "{}"));
    }

    [Fact]
    public void The_applied_value_is_a_copy_so_later_changes_to_the_command_do_not_leak_in()
    {
        var value = JsonNode.Parse("""{"x":1}""")!;
        var doc = ModelDocument.Apply(null, new Command { Op = CommandOp.Create, Path = "", Value = value }, DocumentPath.Root)!;
        value["x"] = 2;
        Assert.Equal(1, (int)doc["x"]!);
    }

    [Theory]
    [InlineData("todos", "'todos' is not a JSON Pointer: it must be empty or start with '/'")]
    [InlineData("/a~2", "'/a~2' has '~' not followed by 0 or 1 in segment 1")]
    public void A_malformed_pointer_is_refused_with_the_reason(string text, string error)
    {
        Assert.False(DocumentPath.TryParse(text, out _, out var message));
        Assert.Equal(error, message);
    }
}

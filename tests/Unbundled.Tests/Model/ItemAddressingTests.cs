using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Tests.Model;

/// <summary>Array items addressed by key (<c>[id=abc]</c>) and moved by identity, as ModelDocument defines them.</summary>
public sealed class ItemAddressingTests
{
    private static JsonNode? Apply(JsonNode? document, CommandOp op, string path, string? value = null, string? from = null) =>
        ModelDocument.Apply(document, new Command { Op = op, Path = path, From = from, Value = value is null ? null : JsonNode.Parse(value) }, DocumentPath.Parse(path));

    private static JsonNode List() => JsonNode.Parse("""{"todos":[{"id":"a","t":"Milk"},{"id":"b","t":"Bread"},{"id":"c","t":"Eggs"}]}""")!;

    private static string Ids(JsonNode doc) => string.Join(",", doc["todos"]!.AsArray().Select(t => (string)t!["id"]!));

    [Fact]
    public void A_key_selects_the_item_with_that_id_wherever_it_is_now()
    {
        var doc = List();
        Apply(doc, CommandOp.Delete, "/todos/0");
        Apply(doc, CommandOp.Update, "/todos/[id=c]/t", "\"Eggs!\"");
        Apply(doc, CommandOp.Create, "/todos/[id=b]/done", "true");
        Assert.Equal("""{"todos":[{"id":"b","t":"Bread","done":true},{"id":"c","t":"Eggs!"}]}""", doc.ToJsonString());
    }

    [Fact]
    public void Creating_at_a_key_inserts_before_that_item_and_deleting_at_a_key_removes_it()
    {
        var doc = List();
        Apply(doc, CommandOp.Create, "/todos/[id=b]", """{"id":"x"}""");
        Apply(doc, CommandOp.Delete, "/todos/[id=a]");
        Apply(doc, CommandOp.Update, "/todos/[id=c]", """{"id":"c","t":"Ham"}""");
        Assert.Equal("x,b,c", Ids(doc));
        Assert.Equal("Ham", (string?)doc["todos"]![2]!["t"]);
    }

    [Fact]
    public void A_key_that_matches_no_item_fails_as_item_missing_and_changes_nothing()
    {
        var doc = List();
        var failure = Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Update, "/todos/[id=gone]/done", "true"));
        Assert.True(failure.ItemMissing);
        Assert.Equal("'/todos/[id=gone]/done': no item with id 'gone' in '/todos' (deleted meanwhile?)", failure.Reason);
        Assert.True(JsonNode.DeepEquals(List(), doc));
    }

    [Fact]
    public void A_key_that_matches_several_items_is_refused_rather_than_guessed()
    {
        var doc = JsonNode.Parse("""{"l":[{"id":"a"},{"id":"a"}]}""")!;
        var failure = Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Delete, "/l/[id=a]"));
        Assert.False(failure.ItemMissing);
    }

    [Fact]
    public void Only_string_members_match_and_on_an_object_the_token_is_a_plain_member_name()
    {
        var doc = JsonNode.Parse("""{"l":[{"n":1}],"o":{"[n=1]":true}}""")!;
        Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Delete, "/l/[n=1]"));
        Apply(doc, CommandOp.Update, "/o/[n=1]", "false");
        Assert.False((bool)doc["o"]!["[n=1]"]!);
    }

    [Fact]
    public void A_key_value_may_hold_slashes_and_tildes_through_pointer_escapes()
    {
        var doc = JsonNode.Parse("""{"l":[{"id":"a/b~c"}]}""")!;
        var path = "/l/" + new ItemKey("id", "a/b~c").ToSegment() + "/x";
        Assert.Equal("/l/[id=a~1b~0c]/x", path);
        Apply(doc, CommandOp.Create, path, "1");
        Assert.Equal(1, (int)doc["l"]![0]!["x"]!);
    }

    [Theory]
    [InlineData("/todos/[id=c]", "/todos/[id=a]", "b,a,c")]
    [InlineData("/todos/-", "/todos/[id=a]", "b,c,a")]
    [InlineData("/todos/0", "/todos/[id=c]", "c,a,b")]
    [InlineData("/todos/[id=b]", "/todos/[id=b]", "a,b,c")]
    public void Move_takes_the_item_out_then_creates_it_at_the_path(string path, string from, string ids)
    {
        var doc = List();
        Apply(doc, CommandOp.Move, path, from: from);
        Assert.Equal(ids, Ids(doc));
    }

    [Fact]
    public void A_move_whose_target_is_gone_fails_and_puts_nothing_out_of_place()
    {
        var doc = List();
        var failure = Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Move, "/todos/[id=gone]", from: "/todos/[id=a]"));
        Assert.True(failure.ItemMissing);
        Assert.True(JsonNode.DeepEquals(List(), doc));
        Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Move, "/todos/[id=a]/t/x", from: "/todos/[id=a]"));
        Assert.True(JsonNode.DeepEquals(List(), doc));
    }

    [Fact]
    public void Move_between_object_members_and_its_refusals()
    {
        var doc = JsonNode.Parse("""{"a":{"x":1},"b":{}}""")!;
        Apply(doc, CommandOp.Move, "/b/y", from: "/a/x");
        Assert.Equal("""{"a":{},"b":{"y":1}}""", doc.ToJsonString());
        Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Move, "/b/z"));
        Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Move, "/b/z", from: ""));
        Assert.Throws<CommandFailedException>(() => Apply(doc, CommandOp.Move, "/b/y", from: "/a"));
    }

    [Fact]
    public void Find_reads_through_keys_and_indexes()
    {
        Assert.Equal("Bread", (string?)ModelDocument.Find(List(), DocumentPath.Parse("/todos/[id=b]/t")));
        Assert.Equal("Eggs", (string?)ModelDocument.Find(List(), DocumentPath.Parse("/todos/2/t")));
        Assert.Null(ModelDocument.Find(List(), DocumentPath.Parse("/todos/[id=z]")));
    }
}

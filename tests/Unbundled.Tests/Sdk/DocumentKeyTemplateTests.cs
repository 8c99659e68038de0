using System.Text.Json.Nodes;
using Unbundled.Sdk.Sinks;

namespace Unbundled.Tests.Sdk;

/// <summary>View keys are injective: two different documents never render the same key by accident.</summary>
public sealed class DocumentKeyTemplateTests
{
    private static string Render(string template, JsonObject document, string key = "k")
    {
        Assert.True(DocumentKeyTemplate.TryParse(template, out var parsed, out var error), error);
        return parsed.Render(SinkDocument.Upsert(key, 1, 1, document), out _)!;
    }

    [Fact]
    public void Values_holding_the_separator_render_apart_from_those_that_do_not()
    {
        var first = Render("todo:{a}:{b}", new JsonObject { ["a"] = "x:y", ["b"] = "z" });
        var second = Render("todo:{a}:{b}", new JsonObject { ["a"] = "x", ["b"] = "y:z" });

        Assert.NotEqual(first, second);
        Assert.Equal("todo:x%3Ay:z", first);
        Assert.Equal("todo:x:y%3Az", second);
    }

    [Fact]
    public void The_escape_character_is_escaped_too_so_escaped_and_plain_values_stay_apart()
    {
        Assert.NotEqual(Render("{a}:{b}", new JsonObject { ["a"] = "x%3Ay", ["b"] = "z" }), Render("{a}:{b}", new JsonObject { ["a"] = "x:y", ["b"] = "z" }));
    }

    [Fact]
    public void One_placeholder_needs_no_escaping_and_keeps_plain_keys()
    {
        Assert.Equal("todo:list:a", Render("todo:{key}", new JsonObject(), key: "list:a"));
    }

    [Fact]
    public void Placeholders_with_nothing_between_them_are_refused_as_ambiguous()
    {
        Assert.False(DocumentKeyTemplate.TryParse("{a}{b}", out _, out var error));
        Assert.Contains("nothing between them", error);
    }
}

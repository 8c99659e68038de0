using System.Text.Json.Nodes;
using Unbundled.Pipelines.Definition;
using Unbundled.Pipelines.Projection;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sinks;
using Unbundled.Sdk.Templates;

namespace Unbundled.Tests.Sdk;

/// <summary>The one template type of the SDK and the engine: view keys are injective, two different documents never render the same key by accident; text templates only fill values in.</summary>
public sealed class KeyTemplateTests
{
    private static string Render(string template, JsonObject document, string key = "k")
    {
        Assert.True(KeyTemplate.TryParse(template, out var parsed, out var error), error);
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
        Assert.False(KeyTemplate.TryParse("{a}{b}", out _, out var error));
        Assert.Contains("nothing between them", error);
    }

    [Fact]
    public void Doubled_braces_are_literal_braces()
    {
        Assert.Equal("{x}", Render("{{{a}}}", new JsonObject { ["a"] = "x" }));
    }

    [Fact]
    public void An_object_or_an_absent_field_leaves_a_key_unrendered_and_names_it()
    {
        Assert.True(KeyTemplate.TryParse("t:{a}", out var template, out _));

        Assert.Null(template.Render(SinkDocument.Upsert("k", 1, 1, new JsonObject { ["a"] = new JsonObject() }), out var objectField));
        Assert.Null(template.Render(SinkDocument.Upsert("k", 1, 1, new JsonObject()), out var absentField));
        Assert.Equal(("a", "a"), (objectField, absentField));
    }

    [Fact]
    public void A_text_template_fills_values_in_as_they_are_and_may_put_placeholders_side_by_side()
    {
        Assert.True(KeyTemplate.TryParseText("{a}{b}", out var template, out var error), error);

        Assert.Equal("x:yz", template.Render(name => JsonValue.Create(name == "a" ? "x:y" : "z"), out _));
    }

    [Fact]
    public void A_declared_selection_keys_its_documents_as_injectively_as_a_sink_does()
    {
        var projector = new SelectProjector(new SelectProjection("{after.a}:{after.b}", []));
        string KeyOf(string a, string b) => Assert.Single(projector.Project(new ChangeEvent
        {
            Key = "m",
            Op = ChangeOp.Create,
            After = new JsonObject { ["a"] = a, ["b"] = b },
            Source = new ChangeSource { Table = "t", Position = 1, Version = 1 },
        })).Key;

        Assert.NotEqual(KeyOf("x:y", "z"), KeyOf("x", "y:z"));
    }
}

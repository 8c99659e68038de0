using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Sdk.Events;

namespace Unbundled.Tests.Sdk;

/// <summary>Debezium's placeholder is found by one rule, whether a reader holds the row as a tree or as parsed JSON.</summary>
public sealed class UnavailableValueTests
{
    [Theory]
    [InlineData("""{"id":1,"note":"__debezium_unavailable_value"}""", true)]
    [InlineData("""{"id":1,"blob":"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="}""", true)]
    [InlineData("""{"id":1,"tags":["__debezium_unavailable_value"]}""", true)]
    [InlineData("""{"id":1,"tags":[["__debezium_unavailable_value"]]}""", true)]
    [InlineData("""{"id":1,"address":{"street":{"line":"__debezium_unavailable_value"}}}""", true)]
    [InlineData("""{"id":1,"tags":["__debezium_unavailable_value","a"]}""", false)]
    [InlineData("""{"id":1,"rows":[{"note":"__debezium_unavailable_value"}]}""", false)]
    [InlineData("""{"id":1,"note":"__debezium_unavailable_value "}""", false)]
    [InlineData("""{"id":"__debezium_unavailable\u005fvalue"}""", true)]
    [InlineData("""{}""", false)]
    public void A_row_holds_the_placeholder_by_the_same_rule_as_a_tree_and_as_parsed_json(string row, bool holds)
    {
        Assert.Equal(holds, ChangeEvent.HoldsUnavailable(JsonNode.Parse(row)!.AsObject()));
        Assert.Equal(holds, ChangeEvent.HoldsUnavailable(JsonElement.Parse(row)));
    }
}

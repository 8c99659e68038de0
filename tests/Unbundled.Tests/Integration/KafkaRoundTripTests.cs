using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Unbundled.Tests.Server;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Integration;

/// <summary>
/// The command log published to Kafka by a declared pipeline (<c>from: log</c>, <c>to: kafka</c>), read back by
/// kcat as Debezium envelopes, and by a kafka source into a view that ends equal to the models.
/// </summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class KafkaRoundTripTests(KafkaServer kafka) : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static Task<HttpResponseMessage> FlushAsync(RunningServer server, string id, int baseVersion, string commands) =>
        server.Client.PostAsync($"/models/todo-list/{id}/flush", new StringContent($$"""{"baseVersion":{{baseVersion}},"commands":[{{commands}}]}""", Encoding.UTF8, "application/json"));

    private async Task<List<JsonNode>> TopicAsync(string topic) =>
        (await kafka.KcatAsync("", "-C", "-t", topic, "-J", "-e", "-q", "-o", "beginning")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_log_published_to_kafka_reads_back_as_debezium_envelopes_and_feeds_a_view_through_the_kafka_source(bool schemas)
    {
        var prefix = $"rt{Guid.NewGuid():N}"[..14];
        var topic = $"{prefix}.todo-list";
        await kafka.CreateTopicAsync(topic, 3);
        var yaml = $$"""
            sources:
              log: { models: [todo-list] }
              # Both cases' servers join the group unbundled.mirrored.g0: the mock cluster lets the second wait out the
              # first member's session even after a clean leave, so a short one keeps the wait short.
              published: { connector: kafka, brokers: "{{kafka.Brokers}}", topics: [ "{{topic}}" ], properties: { session.timeout.ms: "6000" } }
            sinks:
              topics: { connector: kafka, brokers: "{{kafka.Brokers}}", topic-prefix: "{{prefix}}", schemas: {{(schemas ? "true" : "false")}} }
              mirror: { connector: redis, prefix: "{{prefix}}:" }
            pipelines:
              publish: { from: log, select: { key: "{key}", fields: after }, to: topics }
              mirrored: { from: published, select: { key: "{key}", fields: after }, to: mirror }
            """;
        await using var server = await RunningServer.StartWithPipelinesAsync(_directory, yaml, 2);

        Assert.Equal(HttpStatusCode.OK, (await FlushAsync(server, "groceries", 0, """{"op":"create","path":"","value":{"title":"Groceries","todos":[]}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await FlushAsync(server, "groceries", 1, """{"op":"update","path":"/title","value":"Weekend"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await FlushAsync(server, "chores", 0, """{"op":"create","path":"","value":{"title":"Chores","todos":[]}}""")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await FlushAsync(server, "chores", 1, """{"op":"delete","path":""}""")).StatusCode);

        // The view fed from the topic holds what the models hold: one list renamed, the other gone.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonObject? groceries = null;
        while (DateTime.UtcNow < deadline && (string?)groceries?["title"] != "Weekend")
        {
            var response = await server.Client.GetAsync("/views/mirrored/groceries");
            groceries = response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonObject>())?["document"] as JsonObject : null;
            await Task.Delay(100);
        }
        Assert.Equal("Weekend", (string?)groceries?["title"]);

        // kcat, an independent client, reads four changes and the tombstone after the delete, keyed by model id;
        // the lists may sit on different partitions, so the topic is read until all five are there.
        var messages = await TopicAsync(topic);
        for (var attempt = 0; attempt < 100 && messages.Count < 5; attempt++)
        {
            await Task.Delay(100);
            messages = await TopicAsync(topic);
        }
        Assert.Equal(5, messages.Count);
        // Once the mirror has read all five (its offset sums the partitions' next offsets), the deleted list is gone.
        for (var attempt = 0; attempt < 100 && (long)(await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/mirrored"))!["offset"]! < 5; attempt++) await Task.Delay(100);
        Assert.Equal(5, (long)(await server.Client.GetFromJsonAsync<JsonObject>("/pipelines/mirrored"))!["offset"]!);
        Assert.Equal(HttpStatusCode.NotFound, (await server.Client.GetAsync("/views/mirrored/chores")).StatusCode);
        JsonNode Unwrapped(JsonNode node) => schemas ? node["payload"]! : node;
        var changes = messages.Where(m => m["payload"] is not null).Select(m => (Key: (string)Unwrapped(JsonNode.Parse((string)m["key"]!)!)["id"]!, Value: Unwrapped(JsonNode.Parse((string)m["payload"]!)!), Headers: m["headers"]!.AsArray().Select(h => (string)h!).Chunk(2).ToDictionary(p => p[0], p => p[1]))).ToList();
        var groceriesChanges = changes.Where(c => c.Key == "groceries").ToList();
        Assert.Equal(["c", "u"], groceriesChanges.Select(c => (string)c.Value["op"]!));
        Assert.Equal("Weekend", (string?)groceriesChanges[1].Value["after"]!["title"]);
        Assert.Equal("Groceries", (string?)groceriesChanges[1].Value["before"]!["title"]);
        Assert.Equal((2, "todo-list", "unbundled"), ((int)groceriesChanges[1].Value["source"]!["version"]!, (string)groceriesChanges[1].Value["source"]!["table"]!, (string)groceriesChanges[1].Value["source"]!["connector"]!));
        Assert.Equal(("2", groceriesChanges[1].Value["source"]!["position"]!.ToString()), (groceriesChanges[1].Headers["unbundled.version"], groceriesChanges[1].Headers["unbundled.position"]));
        Assert.Equal(["c", "d"], changes.Where(c => c.Key == "chores").Select(c => (string)c.Value["op"]!));
        var tombstone = Assert.Single(messages, m => m["payload"] is null);
        Assert.Equal("chores", (string)Unwrapped(JsonNode.Parse((string)tombstone["key"]!)!)["id"]!);
        if (schemas)
        {
            var schema = JsonNode.Parse((string)messages[0]["payload"]!)!["schema"]!;
            Assert.Equal($"{topic}.Envelope", (string?)schema["name"]);
            Assert.Equal(["before", "after", "source", "op", "ts_ms"], schema["fields"]!.AsArray().Select(f => (string)f!["field"]!));
        }
    }

    public void Dispose() => _directory.Dispose();
}

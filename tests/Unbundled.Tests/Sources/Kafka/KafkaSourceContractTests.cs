using Microsoft.Extensions.DependencyInjection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Unbundled.Connectors.Kafka.Source;
using Unbundled.Sdk.Events;
using Unbundled.Sdk.Sources;
using Unbundled.Sdk.Testing;
using Unbundled.Tests.Services;

namespace Unbundled.Tests.Sources.Kafka;

/// <summary>The source contract on the kafka source: each origin is a one-partition topic, each change a message in our envelope.</summary>
[Collection(KafkaCollection.Name)]
[Trait(TestCategory.Name, TestCategory.Servers)]
public sealed class KafkaSourceContractTests(KafkaServer kafka) : SourceConnectorContract, IDisposable
{
    private readonly IProducer<byte[]?, byte[]?> _producer = kafka.Producer();
    private readonly Dictionary<string, long> _versions = [];
    private readonly Dictionary<string, JsonObject> _rows = [];

    protected override bool ResumesFromAnyOffset => false;

    protected override async Task<ISourceConnector> CreateSourceAsync(string origin)
    {
        if (_versions.TryAdd(origin, 0)) await kafka.CreateTopicAsync(origin, 1);
        var source = new KafkaSourceFactory().Create(new KafkaSourceOptions { Brokers = kafka.Brokers, Topics = [origin], Group = $"contract.{origin}" },
            new SourceContext("contract", "topic", new ServiceCollection().BuildServiceProvider()));
        await source.ConnectAsync(default);
        return source;
    }

    protected override async Task<ISourceConnector> RestartAsync(ISourceConnector running, string origin)
    {
        await running.DisposeAsync();
        return await CreateSourceAsync(origin);
    }

    protected override Task CreateAsync(string origin, string key, JsonObject row) => SendAsync(origin, key, ChangeOp.Create, row);

    protected override Task UpdateAsync(string origin, string key, JsonObject row) => SendAsync(origin, key, ChangeOp.Update, row);

    protected override Task DeleteAsync(string origin, string key) => SendAsync(origin, key, ChangeOp.Delete, null);

    private async Task SendAsync(string topic, string key, ChangeOp op, JsonObject? row)
    {
        var version = ++_versions[topic];
        _rows.Remove($"{topic}/{key}", out var before);
        if (row is not null) _rows[$"{topic}/{key}"] = row;
        var change = new ChangeEvent
        {
            Op = op, Before = before?.DeepClone(), After = row?.DeepClone(),
            Source = new ChangeSource { Table = topic, Position = version, Version = version },
        };
        await _producer.ProduceAsync(topic, new Message<byte[]?, byte[]?>
        {
            Key = JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["id"] = key }),
            Value = JsonSerializer.SerializeToUtf8Bytes(change),
        });
    }

    public void Dispose() => _producer.Dispose();
}

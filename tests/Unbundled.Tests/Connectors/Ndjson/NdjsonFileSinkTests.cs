using System.Text.Json.Nodes;
using Unbundled.Connectors.Ndjson;
using Unbundled.Sdk.Sinks;
using Unbundled.Tests.Contract;

namespace Unbundled.Tests.Connectors.Ndjson;

/// <summary>The sink contract on the NDJSON connector, which is built on the public SDK alone.</summary>
public sealed class NdjsonFileSinkContractTests : SinkConnectorContract, IDisposable
{
    private readonly TempDirectory _directory = new();

    protected override async Task<ISinkConnector> CreateSinkAsync(string pipeline)
    {
        var sink = new NdjsonFileSink(pipeline, new NdjsonFileOptions { Directory = Path.Combine(_directory.Path, "{pipeline}") });
        await sink.ConnectAsync(default);
        return sink;
    }

    public void Dispose() => _directory.Dispose();
}

public sealed class NdjsonFileSinkTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private async Task<NdjsonFileSink> OpenAsync()
    {
        var sink = new NdjsonFileSink("p", new NdjsonFileOptions { Directory = _directory.Path });
        await sink.ConnectAsync(default);
        return sink;
    }

    private static SinkDocument Doc(string key, long version) => SinkDocument.Upsert(key, version, version, new JsonObject { ["v"] = version });

    [Fact]
    public async Task A_batch_torn_by_a_crash_is_cut_off_on_restart_and_the_committed_ones_remain()
    {
        string journal;
        await using (var sink = await OpenAsync())
        {
            await sink.WriteAsync(new SinkBatch("p", [Doc("a", 1)], 1), default);
            journal = sink.JournalPath;
        }
        // A crash halfway through the next append: one whole line, half a line, and no commit line.
        await File.AppendAllTextAsync(journal, """{"key":"b","version":2,"position":2,"op":"upsert","doc":{"v":2}}""" + "\n" + """{"key":"c","vers""");

        await using var restarted = await OpenAsync();

        Assert.Equal(1, await restarted.LoadOffsetAsync(default));
        Assert.NotNull(await restarted.ReadAsync("a", default));
        Assert.Null(await restarted.ReadAsync("b", default));
        await restarted.WriteAsync(new SinkBatch("p", [Doc("b", 2)], 2), default);
        Assert.Equal(2, (long)(await restarted.ReadAsync("b", default))!["v"]!);
        Assert.All(await File.ReadAllLinesAsync(journal), line => JsonNode.Parse(line));
    }

    [Fact]
    public async Task Every_line_of_the_journal_is_a_json_document_a_tool_can_read()
    {
        await using var sink = await OpenAsync();
        await sink.WriteAsync(new SinkBatch("p", [Doc("a", 1), SinkDocument.Delete("a", 2, 2)], 2), default);

        var lines = (await File.ReadAllLinesAsync(sink.JournalPath)).Select(l => JsonNode.Parse(l)!).ToList();

        Assert.Equal(["upsert", "delete", null], lines.Select(l => (string?)l["op"]));
        Assert.Equal(2, (long)lines[^1]["offset"]!);
    }

    public void Dispose() => _directory.Dispose();
}

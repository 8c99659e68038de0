using Unbundled.Pipelines.Definition;

namespace Unbundled.Tests.Pipelines.Definition;

/// <summary>
/// Files an attacker or an accident would hand to validate and run: each is answered with positioned
/// problems, never an exception, a stack overflow or unbounded memory.
/// </summary>
public sealed class HostilePipelinesFileTests
{
    private static string Bomb()
    {
        // The billion-laughs shape: each alias doubles what the last one expands to.
        var lines = new List<string> { "a0: &a0 [x, x, x, x, x, x, x, x, x, x]" };
        for (var i = 1; i < 30; i++) lines.Add($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]");
        lines.Add("sources: *a29");
        return string.Join("\n", lines) + "\n";
    }

    public static TheoryData<string, string> Files => new()
    {
        { "alias bomb", Bomb() },
        { "deep flow nesting", "sources: " + new string('[', 100_000) + new string(']', 100_000) + "\n" },
        { "deep block nesting", string.Concat(Enumerable.Range(0, 5000).Select(i => new string(' ', i) + "k:\n")) },
        { "deep where", PipelinesFileCorpus.Valid.Replace("after.title != \"x\"", string.Concat(Enumerable.Repeat("not (", 20_000)) + "after.title == \"x\"" + new string(')', 20_000)) },
        { "several documents", PipelinesFileCorpus.Valid + "---\n" + PipelinesFileCorpus.Valid },
        { "complex key", "? [a, b]\n: c\n" + PipelinesFileCorpus.Valid },
        // Below the top level each reader took keys as plain names, and a cast threw.
        { "complex pipeline name", PipelinesFileCorpus.Valid.Replace("  items:\n", "  ? [items]\n  :\n") },
        { "complex source option", PipelinesFileCorpus.Valid.Replace("    models: [todo-list]", "    ? {models: 1}\n    : [todo-list]") },
        { "complex sink option", PipelinesFileCorpus.Valid.Replace("    ttl: 1h", "    ttl: 1h\n    ? [x]\n    : y") },
        { "binary", new string(Enumerable.Range(0, 4096).Select(i => (char)(i % 32)).ToArray()) },
        { "huge duration", PipelinesFileCorpus.Valid.Replace("ttl: 1h", "ttl: 99999999999999999999999h") },
        { "overflowing duration", PipelinesFileCorpus.Valid.Replace("ttl: 1h", "ttl: 9223372036854775807ms") },
        { "huge number", PipelinesFileCorpus.Valid.Replace("max-size: 200", "max-size: 1" + new string('0', 5000)) },
        { "tag", PipelinesFileCorpus.Valid.Replace("from: lists", "from: !!binary aGVsbG8=") },
        { "merge key", PipelinesFileCorpus.Valid.Replace("  items:\n", "  items:\n    <<: {from: lists}\n") },
        { "null everywhere", "sources:\nsinks:\npipelines:\n" },
        { "scalar file", "just text\n" },
        { "empty", "" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Every_file_gets_positioned_problems_and_never_an_exception(string name, string yaml)
    {
        var result = PipelinesFileCorpus.Loader().Parse(yaml, "pipelines.yaml");

        if (name is "merge key") return;
        Assert.Null(result.Document);
        Assert.NotEmpty(result.Problems);
        Assert.All(result.Problems, problem => Assert.Matches(@"^pipelines\.yaml:\d+:\d+: error: ", problem.ToString()));
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Pipelines.Definition.Pipe;
using Unbundled.Pipelines.Definition.Yaml;
using Unbundled.Server;

namespace Unbundled.Tests.Pipelines.Pipe;

/// <summary>The one-line pipe form: its grammar, its positions in errors, and the pipelines.yaml declaration it means.</summary>
public sealed class PipeLineTests
{
    private const string Line = "postgres:orders?connection=Host=db;Database=shop | where after.status != \"cancelled\" | select id,total,who=after.customer | elasticsearch:orders?url=http://es:9200";

    [Fact]
    public void A_line_parses_into_source_stages_and_sink_with_their_columns()
    {
        var pipe = PipeLine.Parse(Line);

        Assert.Equal(("postgres", "orders"), (pipe.Source.Connector.Text, pipe.Source.Name!.Value.Text));
        Assert.Equal([("connection", "Host=db;Database=shop")], pipe.Source.Options.Select(o => (o.Option.Text, o.Value.Text)));
        Assert.Equal("after.status != \"cancelled\"", pipe.Where!.Value.Text);
        Assert.Equal(Line.IndexOf("after.status", StringComparison.Ordinal) + 1, pipe.Where.Value.Column);
        Assert.Equal([("id", "after.id"), ("total", "after.total"), ("who", "after.customer")], pipe.Select!.Select(f => (f.Name.Text, f.Path.Text)));
        Assert.Equal(("elasticsearch", "orders", "http://es:9200"), (pipe.Sink.Connector.Text, pipe.Sink.Name!.Value.Text, pipe.Sink.Options[0].Value.Text));
    }

    [Theory]
    [InlineData("postgres:orders", 16, "a pipe needs a source and a sink")]
    [InlineData("postgres:orders | | redis", 19, "an empty stage")]
    [InlineData("postgres:orders | redis |", 25, "the line ends with '|'")]
    [InlineData("postgres:orders | filter x | redis", 19, "'filter' is not a stage")]
    [InlineData("postgres:orders | where | redis", 24, "'where' needs a condition")]
    [InlineData("postgres:orders | where \"open | redis", 25, "never closed")]
    [InlineData("Postgres:orders | redis", 1, "must start with a connector name")]
    [InlineData("postgres:orders?tables | redis", 17, "'tables' is not option=value")]
    [InlineData("postgres:orders | select a | select b | redis", 30, "'select' is given twice")]
    public void A_broken_line_says_where_and_what(string line, int column, string message)
    {
        var broken = Assert.Throws<PipeSyntaxException>(() => PipeLine.Parse(line));
        Assert.Contains(message, broken.Message);
        Assert.Equal(column, broken.Column);
    }

    [Fact]
    public void A_quoted_bar_and_a_percent_encoded_ampersand_stay_inside_their_piece()
    {
        var pipe = PipeLine.Parse("log:todo-list | where after.title == \"a|b\" | ndjson:out?directory=a%26b");
        Assert.Equal("after.title == \"a|b\"", pipe.Where!.Value.Text);
        Assert.Equal("a&b", pipe.Sink.Options[0].Value.Text);
    }

    [Fact]
    public void The_declaration_loads_as_pipelines_yaml_would_and_its_problems_point_into_the_line()
    {
        var catalog = Catalog();
        var good = PipeDeclaration.Of(PipeLine.Parse("postgres:public.orders,customers?connection=Host=db | where source.table == \"orders\" | lucene:/tmp/x"), "shop", catalog);
        var document = Loader(catalog).Parse(good.Yaml, "pipe").Require();
        var pipeline = Assert.Single(document.Pipelines);
        Assert.Equal(["public.orders", "customers"], Assert.IsType<Unbundled.Connectors.Postgres.PostgresSourceOptions>(pipeline.Source.Options).Tables);

        const string broken = "postgres:orders?connection=Host=db&snapshot=sometimes | where after.x === 1 | redis:orders:";
        var declaration = PipeDeclaration.Of(PipeLine.Parse(broken), "shop", catalog);
        var problems = Loader(catalog).Parse(declaration.Yaml, "pipe").Problems;
        var columns = problems.Select(p => declaration.OriginOf(p.At.Line)!.Value.Column).ToList();
        Assert.Contains(broken.IndexOf("sometimes", StringComparison.Ordinal) + 1, columns);
        Assert.Contains(broken.IndexOf("after.x", StringComparison.Ordinal) + 1, columns);
    }

    [Fact]
    public void A_connector_that_takes_no_name_says_so_at_the_name()
    {
        var refused = Assert.Throws<PipeSyntaxException>(() => PipeDeclaration.Of(PipeLine.Parse("log:todo-list | nonesuch:x"), "p", Catalog()));
        Assert.Contains("'nonesuch' is not a connector here", refused.Message);
        Assert.Equal(26, refused.Column);
    }

    [Fact]
    public void Saving_adds_each_entry_at_the_end_of_its_section_and_keeps_comments()
    {
        var declaration = PipeDeclaration.Of(PipeLine.Parse("log:todo-list | ndjson:out"), "saved", Catalog());
        const string file = """
            # my views
            sources:
              lists:
                models: [todo-list]   # the lists

            sinks:
              cache: { connector: ndjson, directory: views }
            # the pipelines
            pipelines:
              items: { from: lists, projection: todo-items, to: cache }
            """;

        var saved = PipelinesFileText.Append(file, declaration);

        Assert.Contains("# my views", saved);
        Assert.Contains("models: [todo-list]   # the lists", saved);
        Assert.True(saved.IndexOf("\"saved-source\":", StringComparison.Ordinal) < saved.IndexOf("\nsinks:", StringComparison.Ordinal));
        Assert.True(saved.IndexOf("\"saved-sink\":", StringComparison.Ordinal) < saved.IndexOf("# the pipelines", StringComparison.Ordinal));
        var document = Loader(Catalog()).Parse(saved, "pipelines.yaml").Require();
        Assert.Equal(["items", "saved"], document.Pipelines.Select(p => p.Name).Order());
        Assert.Throws<InvalidOperationException>(() => PipelinesFileText.Append("sources: {}\n", declaration));
    }

    private static PipelinesFileLoader Loader(Unbundled.Sdk.Connectors.ConnectorCatalog catalog) =>
        new(catalog, new Dictionary<string, Unbundled.Sdk.Projections.IProjection> { ["todo-items"] = new Unbundled.TodoApp.Projections.TodoItemsProjection() },
            new EnvironmentSubstitution(_ => null));

    private static Unbundled.Sdk.Connectors.ConnectorCatalog Catalog()
    {
        var none = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Unbundled:Pipelines:File"] = "" }).Build();
        return UnbundledApp.AddUnbundledServices(new ServiceCollection(), none, u => u.AddTodoApp()).Connectors;
    }
}

using Unbundled.Pipelines.Aggregation;
using Unbundled.Pipelines.Projection;
using Unbundled.Connectors.Redis;
using Unbundled.Pipelines.Definition;

using Unbundled.Sources.CommandLog;
using Unbundled.Pipelines.Definition.Yaml;

namespace Unbundled.Tests.Pipelines.Definition;

public sealed class PipelinesFileLoaderTests
{
    public static TheoryData<string, string, string> Mistakes => new()
    {
        { "yaml syntax", "sources:\n  lists:\n    models: [todo-list]\n   bad: x\n", "pipelines.yaml:4:4: error: While parsing a block mapping, did not find expected key." },
        { "unclosed flow list", "sources:\n  lists:\n    models: [todo-list\nsinks: {}\n", "pipelines.yaml:1:1: error: the file is not valid YAML (Operation is not valid due to the current state of the object.); look for an unclosed '[' or '{'" },
        { "top level is a list", "- a\n- b\n", "pipelines.yaml:1:1: error: pipelines.yaml must be a mapping with the keys sources, sinks and pipelines" },
        { "unknown top-level key", PipelinesFileCorpus.Valid + "\nsink: {}\n", "pipelines.yaml:17:1: error: unknown key 'sink' in the top level. Did you mean 'sinks'?" },
        { "unknown pipeline key", PipelinesFileCorpus.Valid.Replace("    from: lists", "    form: lists"), "pipelines.yaml:12:5: error: unknown key 'form' in pipeline 'items'. Did you mean 'from'?\npipelines.yaml:12:5: error: pipeline 'items' has no 'from': name the source it reads. Declared sources: lists" },
        { "unknown source key", PipelinesFileCorpus.Valid.Replace("    models:", "    model:"), "pipelines.yaml:3:5: error: unknown key 'model' in source 'lists'. Did you mean 'models'?" },
        { "unknown sink option", PipelinesFileCorpus.Valid.Replace("    ttl: 1h", "    tll: 1h"), "pipelines.yaml:9:5: error: unknown key 'tll' in sink 'cache'. Did you mean 'ttl'?" },
        { "unknown connector", PipelinesFileCorpus.Valid.Replace("connector: redis", "connector: reddis"), "pipelines.yaml:6:16: error: sink 'cache' uses the connector 'reddis', which is not registered. Did you mean 'redis'?" },
        { "sink without connector", PipelinesFileCorpus.Valid.Replace("    connector: redis\n", ""), "pipelines.yaml:6:5: error: sink 'cache' has no 'connector'. Registered connectors: ndjson, redis" },
        { "unknown source name", PipelinesFileCorpus.Valid.Replace("from: lists", "from: list"), "pipelines.yaml:12:11: error: pipeline 'items' names the source 'list', which is not declared in 'sources'. Did you mean 'lists'?" },
        { "unknown sink name", PipelinesFileCorpus.Valid.Replace("to: cache", "to: cash"), "pipelines.yaml:15:9: error: pipeline 'items' names the sink 'cash', which is not declared in 'sinks'. Did you mean 'cache'?" },
        { "unknown projection", PipelinesFileCorpus.Valid.Replace("projection: todo-items", "projection: todo-item"), "pipelines.yaml:14:17: error: pipeline 'items' names the projection 'todo-item', which is not registered. Did you mean 'todo-items'?" },
        { "projection and select", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    select: { fields: { t: after.title } }"), "pipelines.yaml:16:13: error: pipeline 'items' has both 'projection' and 'select'; keep one" },
        { "missing to", PipelinesFileCorpus.Valid.Replace("    to: cache\n", ""), "pipelines.yaml:12:5: error: pipeline 'items' has no 'to': name the sink it writes to. Declared sinks: cache" },
        { "duplicate pipeline", PipelinesFileCorpus.Valid + "\n  items:\n    from: lists\n", "pipelines.yaml:17:3: error: 'items' appears twice in the same mapping; each name may appear once" },
        { "bad duration", PipelinesFileCorpus.Valid.Replace("ttl: 1h", "ttl: an hour"), "pipelines.yaml:9:10: error: 'ttl' in sink 'cache': 'an hour' is not a duration: use e.g. 500ms, 10s, 5m, 1h" },
        { "bad batch size", PipelinesFileCorpus.Valid.Replace("max-size: 200", "max-size: -5"), "pipelines.yaml:16:24: error: 'max-size' of pipeline 'items' is '-5'; it must be a whole number from 1 to 100000" },
        { "bad error policy", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    on-error: ignore"), "pipelines.yaml:16:15: error: 'on-error' of pipeline 'items' is 'ignore'; it must be dead-letter or stop" },
        { "list where a value goes", PipelinesFileCorpus.Valid.Replace("from: lists", "from: [lists]"), "pipelines.yaml:12:11: error: 'from' of pipeline 'items' must be a single value, not a list" },
        { "unset variable", PipelinesFileCorpus.Valid.Replace("${REDIS_URL}", "${REDIS_HOST}"), "pipelines.yaml:7:17: error: the environment variable REDIS_HOST is not set (give a default with ${REDIS_HOST:-value})" },
        { "bad where", PipelinesFileCorpus.Valid.Replace("after.title != \"x\"", "after.title !! \"x\""), "pipelines.yaml:13:24: error: 'where' of pipeline 'items': '!' is not an operator; use == != < <= > >=" },
        { "bad path in where", PipelinesFileCorpus.Valid.Replace("after.title != \"x\"", "aftr.title == \"x\""), "pipelines.yaml:13:12: error: 'where' of pipeline 'items': 'aftr.title' does not start with one of key, op, ts_ms, source, before, after; did you mean 'after'?" },
        { "bad select path", PipelinesFileCorpus.Valid.Replace("    projection: todo-items", "    select:\n      fields:\n        t: source.tabel"), "pipelines.yaml:16:12: error: field 't' of pipeline 'items': 'source.tabel' is not a source field; use source.connector, source.name, source.table, source.position, source.version, source.ts_ms, source.snapshot; did you mean 'source.table'? For a constant, write { value: ... }" },
        { "bad key template", PipelinesFileCorpus.Valid.Replace("todo:{listId}:{id}", "todo:{listId}:{id"), "pipelines.yaml:8:10: error: 'key' of sink 'cache': 'todo:{listId}:{id' has a '{' that is never closed at character 15" },
        { "unknown model type", PipelinesFileCorpus.Valid.Replace("[todo-list]", "[todo-lists]"), "pipelines.yaml:3:14: error: 'models' of source 'lists': the model type 'todo-lists' is not registered. Did you mean 'todo-list'?" },
        { "unknown source connector", PipelinesFileCorpus.Valid.Replace("    models: [todo-list]", "    connector: lgo\n    models: [todo-list]"), "pipelines.yaml:3:16: error: source 'lists' uses the connector 'lgo', which is not registered. Did you mean 'log'?" },
        { "option of another connector", PipelinesFileCorpus.Valid.Replace("    models: [todo-list]", "    connector: log\n    tables: [todos]"), "pipelines.yaml:4:5: error: unknown key 'tables' in source 'lists'. Known keys: models, connector" },
        { "bad pipeline name", PipelinesFileCorpus.Valid.Replace("  items:", "  Items!:"), "pipelines.yaml:11:3: error: 'Items!' is not a valid pipeline name: use lowercase letters, digits, '-' and '_', starting with a letter or digit" },
        { "enabled is no boolean", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    enabled: sometimes"), "pipelines.yaml:16:14: error: 'enabled' of pipeline 'items' is 'sometimes'; it must be true or false" },
        { "a mistake in a disabled pipeline", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cash\n    enabled: false"), "pipelines.yaml:15:9: error: pipeline 'items' names the sink 'cash', which is not declared in 'sinks'. Did you mean 'cache'?" },
        { "aggregate without group-by", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      fields: { open: count }"), "pipelines.yaml:17:7: error: 'aggregate' of pipeline 'items' has no 'group-by': give the template of a member's group, e.g. \"{after.customer}\"" },
        { "aggregate with an unknown function", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { open: counts }"), "pipelines.yaml:18:23: error: field 'open' of 'aggregate' of pipeline 'items' is 'counts'; write count, or one of { sum | min | max | avg | collect | distinct-count: <path> }" },
        { "aggregate field with two functions", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { n: { sum: after.n, max: after.n } }"), "pipelines.yaml:18:20: error: field 'n' of 'aggregate' of pipeline 'items' must name exactly one of sum, min, max, avg, collect, distinct-count with the path it reads" },
        { "aggregate collect limit", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { titles: { collect: after.title, limit: 5000 } }"), "pipelines.yaml:18:56: error: 'limit' of field 'titles' of 'aggregate' of pipeline 'items' is '5000'; it must be a whole number from 1 to 1000" },
        { "aggregate bad path", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { total: { sum: aftr.n } }"), "pipelines.yaml:18:31: error: field 'total' of 'aggregate' of pipeline 'items': 'aftr.n' does not start with one of key, op, ts_ms, source, before, after; did you mean 'after'? A member's fields are read as after.<field>" },
        { "aggregate order on a sum", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { total: { sum: after.n, order: desc } }"), "pipelines.yaml:18:47: error: 'order' of field 'total' of 'aggregate' of pipeline 'items': only collect is ordered and limited" },
        { "aggregate bad group template", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId\"\n      fields: { open: count }"), "pipelines.yaml:17:17: error: 'group-by' of pipeline 'items': '{after.listId' has a '{' that is never closed at character 1" },
        { "aggregate field named group", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    aggregate:\n      group-by: \"{after.listId}\"\n      fields: { group: count }"), "pipelines.yaml:18:17: error: field 'group' of 'aggregate' of pipeline 'items': the name is taken by the group's key, which every group's document holds" },
        { "join without on", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    join: { table: user, as: author }"), "pipelines.yaml:16:11: error: 'join' of pipeline 'items' has no 'on': give the template of the row's key over each document, e.g. \"{after.createdBy}\"" },
        { "join under a bad field", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    join: { table: user, on: \"{after.createdBy}\", as: \"the author\" }"), "pipelines.yaml:16:55: error: 'as' of 'join' of pipeline 'items' is 'the author'; it must be a field name (letters, digits, '_' and '-')" },
        { "join and aggregate", PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    join: { table: user, on: \"{after.createdBy}\", as: author }\n    aggregate: { group-by: \"{after.listId}\", fields: { n: count } }"), "pipelines.yaml:16:11: error: pipeline 'items' has both 'aggregate' and 'join'; a pipeline either groups its documents or embeds rows in them" },
        { "empty pipelines", PipelinesFileCorpus.Valid[..PipelinesFileCorpus.Valid.IndexOf("pipelines:")] + "pipelines: {}\n", "pipelines.yaml:10:12: error: the 'pipelines' section is empty: declare at least one pipeline" },
    };

    [Theory]
    [InlineData("-1s")]
    [InlineData("often")]
    [InlineData("99999999999999999999h")]
    [InlineData("[1s, 2s]")]
    public void A_lucene_commit_interval_that_is_not_a_duration_is_refused_with_its_position(string interval)
    {
        var yaml = PipelinesFileCorpus.Valid.Replace("    ttl: 1h", $"    ttl: 1h\n  index:\n    connector: lucene\n    commit-interval: {interval}");

        var result = PipelinesFileCorpus.Loader(null, new Unbundled.Connectors.Lucene.LuceneIndexSinkFactory()).Parse(yaml, "pipelines.yaml");

        Assert.Null(result.Document);
        var error = Assert.Single(result.Problems).ToString();
        Assert.StartsWith("pipelines.yaml:12:22: error: 'commit-interval' in sink 'index'", error);
    }

    [Theory]
    [MemberData(nameof(Mistakes))]
    public void Each_mistake_is_reported_with_its_position_and_a_hint(string mistake, string yaml, string expected)
    {
        var result = PipelinesFileCorpus.Loader().Parse(yaml, "pipelines.yaml");

        Assert.Null(result.Document);
        Assert.True(result.Problems.Count > 0, mistake);
        Assert.Equal(expected, string.Join("\n", result.Problems));
    }
}

public sealed class PipelinesFileLoaderValidTests
{
    [Fact]
    public void A_source_that_names_no_connector_reads_the_command_log_as_one_that_names_it()
    {
        var implicitLog = Assert.Single(PipelinesFileCorpus.Loader().Parse(PipelinesFileCorpus.Valid, "pipelines.yaml").Require().Pipelines).Source;
        var explicitLog = Assert.Single(PipelinesFileCorpus.Loader().Parse(PipelinesFileCorpus.Valid.Replace("    models:", "    connector: log\n    models:"), "pipelines.yaml").Require().Pipelines).Source;

        Assert.Equal(CommandLogSourceFactory.ConnectorName, implicitLog.Connector.Name);
        Assert.Equal(implicitLog.Connector.GetType(), explicitLog.Connector.GetType());
        Assert.Equal(["todo-list"], Assert.IsType<CommandLogSourceOptions>(explicitLog.Options).Models);
    }

    [Theory]
    [InlineData("false", 0)]
    [InlineData("true", 1)]
    public void A_pipeline_switched_off_by_enabled_is_checked_and_left_out(string enabled, int count)
    {
        var loader = PipelinesFileCorpus.Loader(new Dictionary<string, string> { ["REDIS_URL"] = "127.0.0.1:6379", ["PUBLISH"] = enabled });

        var document = loader.Parse(PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    enabled: ${PUBLISH}"), "pipelines.yaml").Require();

        Assert.Equal(count, document.Pipelines.Count);
        Assert.Equal(count == 0 ? ["items"] : [], document.SwitchedOff);
    }

    [Fact]
    public void A_pipeline_without_projection_or_select_writes_the_whole_row_by_its_key_as_a_pipe_does()
    {
        var document = PipelinesFileCorpus.Loader().Parse(PipelinesFileCorpus.Valid.Replace("    projection: todo-items\n", ""), "pipelines.yaml").Require();

        var selection = Assert.IsType<SelectProjection>(Assert.Single(document.Pipelines).Projection);
        Assert.Equal("{key}", selection.KeyTemplate);
        Assert.Equal([new SelectField(SelectProjector.Spread, new PathValue("after"))], selection.Fields);
    }

    [Fact]
    public void Fields_written_as_one_path_spread_that_object_into_the_document()
    {
        var document = PipelinesFileCorpus.Loader().Parse(PipelinesFileCorpus.Valid.Replace("    projection: todo-items", "    select: { fields: after }"), "pipelines.yaml").Require();

        var selection = Assert.IsType<SelectProjection>(Assert.Single(document.Pipelines).Projection);
        Assert.Equal([new SelectField(SelectProjector.Spread, new PathValue("after"))], selection.Fields);
    }

    [Fact]
    public void An_aggregate_loads_its_group_template_membership_and_fields()
    {
        var yaml = PipelinesFileCorpus.Valid.Replace("    to: cache", """
                to: cache
                aggregate:
                  group-by: "{after.listId}"
                  where: after.done == false
                  fields:
                    open: count
                    titles: { collect: after.title, order-by: after.createdAt, order: desc, limit: 5 }
                    first: { min: after.createdAt }
                    people: { distinct-count: after.createdBy }
            """.TrimEnd());

        var aggregate = PipelinesFileCorpus.Loader().Parse(yaml, "pipelines.yaml").Document!.Pipelines.Single().Aggregate!;

        Assert.Equal("{after.listId}", aggregate.GroupBy);
        Assert.Equal("after.done == false", aggregate.Where!.Text);
        Assert.Equal(
            [
                new AggregateField("open", AggregateFunction.Count, null),
                new AggregateField("titles", AggregateFunction.Collect, "after.title", "after.createdAt", Descending: true, Limit: 5),
                new AggregateField("first", AggregateFunction.Min, "after.createdAt"),
                new AggregateField("people", AggregateFunction.DistinctCount, "after.createdBy"),
            ], aggregate.Fields);
    }

    [Fact]
    public void A_join_loads_its_table_key_template_and_field()
    {
        var yaml = PipelinesFileCorpus.Valid.Replace("    to: cache", "    to: cache\n    join: { table: user, on: \"{after.createdBy}\", as: author }");

        Assert.Equal(new Unbundled.Pipelines.Joins.JoinDefinition("user", "{after.createdBy}", "author"),
            PipelinesFileCorpus.Loader().Parse(yaml, "pipelines.yaml").Document!.Pipelines.Single().Join);
    }

    [Fact]
    public void A_valid_file_loads_into_typed_definitions()
    {
        var document = PipelinesFileCorpus.Loader().Parse(PipelinesFileCorpus.Valid, "pipelines.yaml").Require();

        var pipeline = Assert.Single(document.Pipelines);
        Assert.Equal(("items", "lists", "cache"), (pipeline.Name, pipeline.Source.Name, pipeline.Sink.Name));
        Assert.Equal(["todo-list"], Assert.IsType<CommandLogSourceOptions>(pipeline.Source.Options).Models);
        Assert.Equal(new NamedProjection("todo-items"), pipeline.Projection);
        Assert.Equal(new BatchOptions(200, TimeSpan.FromMilliseconds(10)), pipeline.Batch);
        Assert.Equal(ErrorPolicy.DeadLetter, pipeline.OnError);
        var options = Assert.IsType<RedisCacheOptions>(pipeline.Sink.Options);
        Assert.Equal(("127.0.0.1:6379", "todo:{listId}:{id}", TimeSpan.FromHours(1)), (options.Connection, options.Key, options.Ttl));
        Assert.Equal(new SourceSpan("pipelines.yaml", 12, 5), pipeline.At);
    }

    [Fact]
    public void The_fingerprint_ignores_layout_and_comments_but_not_the_definition()
    {
        var loader = PipelinesFileCorpus.Loader();
        var original = loader.Parse(PipelinesFileCorpus.Valid, "p.yaml").Require().Pipelines[0].Fingerprint;
        var reformatted = loader.Parse("# views\n" + PipelinesFileCorpus.Valid.Replace("batch: { max-size: 200, max-delay: 10ms }", "batch:\n      max-size: 200   # bigger later\n      max-delay: 10ms"), "p.yaml").Require().Pipelines[0].Fingerprint;
        var changed = loader.Parse(PipelinesFileCorpus.Valid.Replace("!= \"x\"", "!= \"y\""), "p.yaml").Require().Pipelines[0].Fingerprint;
        var sinkChanged = loader.Parse(PipelinesFileCorpus.Valid.Replace("ttl: 1h", "ttl: 2h"), "p.yaml").Require().Pipelines[0].Fingerprint;

        Assert.Equal(original, reformatted);
        Assert.NotEqual(original, changed);
        Assert.NotEqual(original, sinkChanged);
    }

    [Theory]
    [InlineData("${HOST}:1", "redis.local:1")]
    [InlineData("${PORT:-6379}", "6379")]
    [InlineData("$${HOST}", "${HOST}")]
    [InlineData("a$b", "a$b")]
    public void Environment_variables_are_substituted_with_defaults_and_escapes(string written, string expected)
    {
        var substitution = new EnvironmentSubstitution(name => name == "HOST" ? "redis.local" : null);

        Assert.True(substitution.TrySubstitute(written, out var result, out _, out _));
        Assert.Equal(expected, result);
    }
}

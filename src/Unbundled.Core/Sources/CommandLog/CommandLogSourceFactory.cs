using Microsoft.Extensions.DependencyInjection;
using Unbundled.Log;
using Unbundled.Pipelines.Definition;
using Unbundled.Sdk.Sources;

namespace Unbundled.Sources.CommandLog;

/// <summary>The <c>log</c> source connector: the master model's command log, the default source of a pipeline.</summary>
/// <param name="modelTypes">The registered model types, read when options are checked (empty: anything goes).</param>
public sealed class CommandLogSourceFactory(IReadOnlyCollection<string> modelTypes) : SourceConnectorFactory<CommandLogSourceOptions>
{
    /// <summary>The name pipelines.yaml uses, and the connector of a source that names none.</summary>
    public const string ConnectorName = "log";

    /// <inheritdoc />
    public override string Name => ConnectorName;

    /// <inheritdoc />
    public override string? PipeNameOption => "models";

    /// <inheritdoc />
    protected override IEnumerable<(string Option, string Message)> Validate(CommandLogSourceOptions options)
    {
        if (modelTypes.Count == 0) yield break;
        for (var i = 0; i < options.Models.Count; i++)
        {
            var model = options.Models[i];
            if (modelTypes.Contains(model)) continue;
            var close = EditDistance.Closest(model, modelTypes);
            yield return ($"models[{i}]", $"the model type '{model}' is not registered. " + (close is null ? $"Registered: {string.Join(", ", modelTypes.Order())}" : $"Did you mean '{close}'?"));
        }
    }

    /// <inheritdoc />
    protected override ISourceConnector Create(CommandLogSourceOptions options, SourceContext context) =>
        new CommandLogSource(context.Services.GetRequiredService<ICommandLog>(), options.Models, context.Source, itemsField: context.ItemsField,
            copyStatesAsMade: !context.ReadsOnlyChangedItems);
}

namespace Unbundled.Pipelines.Joins;

/// <summary>
/// A pipeline's <c>join:</c>: the changes of <see cref="Table"/> (a model type, or a table of the same source) are
/// rows the engine keeps, and every document the projection derives embeds, under <see cref="As"/>, the row whose key
/// its <see cref="On"/> template renders (null when there is none). A changed row updates every document that embeds it.
/// </summary>
/// <param name="Table">The table (<c>source.table</c>) whose rows are joined.</param>
/// <param name="On">A template over each document, as <c>after</c>, giving the key of the row it embeds.</param>
/// <param name="As">The field the row is embedded under.</param>
public sealed record JoinDefinition(string Table, string On, string As);

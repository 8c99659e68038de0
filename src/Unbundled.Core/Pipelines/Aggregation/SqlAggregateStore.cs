using System.Data.Common;
using System.Text.Json.Nodes;

namespace Unbundled.Pipelines.Aggregation;

/// <summary>
/// <see cref="IAggregateStore"/> in plain SQL that SQLite and PostgreSQL both speak (upserts with
/// <c>ON CONFLICT</c>, named parameters); each log store supplies its connections and table names.
/// </summary>
public abstract class SqlAggregateStore : IAggregateStore
{
    /// <summary>How many keys one <c>IN</c> list holds.</summary>
    private const int Chunk = 500;

    private int _ready;

    /// <summary>An open connection to the log's database.</summary>
    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>The members table's name, qualified as the database needs.</summary>
    protected abstract string Members { get; }

    /// <summary>The groups table's name, qualified as the database needs.</summary>
    protected abstract string Groups { get; }

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupWrite>> ApplyAsync(string view, IReadOnlyList<MemberChange> members, Func<string, IReadOnlyList<JsonObject>, JsonObject?> compute,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Two writers of one view (a fenced-out owner and its successor) must not compute a group each from what the other has not committed.
            if (ViewLock is { } viewLock) await ExecuteAsync(connection, transaction, viewLock, cancellationToken, ("view", view)).ConfigureAwait(false);
            var stored = await LoadMembersAsync(connection, transaction, view, members.Select(m => m.Member).Distinct().ToList(), cancellationToken).ConfigureAwait(false);
            var touched = new HashSet<string>(StringComparer.Ordinal);
            var changed = new Dictionary<string, MemberChange>(StringComparer.Ordinal);
            foreach (var member in members)
            {
                if (stored.TryGetValue(member.Member, out var held) && member.Version <= held.Version) continue;
                if (held.Group is { } left) touched.Add(left);
                if (member.Group is { } joined) touched.Add(joined);
                stored[member.Member] = (member.Version, member.Group);
                changed[member.Member] = member;
            }
            foreach (var member in changed.Values)
            {
                await ExecuteAsync(connection, transaction, $"""
                    INSERT INTO {Members} (view_name, member, version, grp, contribution) VALUES (@view, @member, @version, @grp, @contribution)
                    ON CONFLICT (view_name, member) DO UPDATE SET version = excluded.version, grp = excluded.grp, contribution = excluded.contribution
                    WHERE {Members}.version < excluded.version
                    """, cancellationToken, ("view", view), ("member", member.Member), ("version", member.Version), ("grp", member.Group),
                    ("contribution", member.Contribution?.ToJsonString())).ConfigureAwait(false);
            }
            // In one order, so that two transactions touching the same groups cannot deadlock.
            foreach (var group in touched.Order(StringComparer.Ordinal))
            {
                var document = compute(group, await ContributionsAsync(connection, transaction, view, group, cancellationToken).ConfigureAwait(false));
                await ExecuteAsync(connection, transaction, $"""
                    INSERT INTO {Groups} AS g (view_name, grp, revision, document, dirty) VALUES (@view, @grp, 1, @document, 1)
                    ON CONFLICT (view_name, grp) DO UPDATE SET revision = g.revision + 1, document = excluded.document, dirty = 1
                    """, cancellationToken, ("view", view), ("grp", group), ("document", document?.ToJsonString())).ConfigureAwait(false);
            }
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        return await DirtyAsync(connection, view, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task WrittenAsync(string view, IReadOnlyList<GroupWrite> written, CancellationToken cancellationToken)
    {
        if (written.Count == 0) return;
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        // A group changed again since (a revision above the one written) stays to be written.
        foreach (var group in written)
            await ExecuteAsync(connection, transaction, $"UPDATE {Groups} SET dirty = 0 WHERE view_name = @view AND grp = @grp AND revision = @revision",
                cancellationToken, ("view", view), ("grp", group.Group), ("revision", group.Revision)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task ResendAsync(string view, IReadOnlyList<string>? groups, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        if (groups is null)
        {
            await ExecuteAsync(connection, null, $"UPDATE {Groups} SET dirty = 1 WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
            return;
        }
        foreach (var group in groups)
            await ExecuteAsync(connection, null, $"UPDATE {Groups} SET dirty = 1 WHERE view_name = @view AND grp = @grp", cancellationToken, ("view", view), ("grp", group)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DropAsync(string view, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Members} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Groups} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
    }

    /// <summary>
    /// A statement that serialises writers of one view until the transaction ends (parameter <c>@view</c>), when the
    /// database does not already (SQLite's writers are serialised by the database itself).
    /// </summary>
    protected virtual string? ViewLock => null;

    /// <summary>Statements run first, in the transaction that creates the tables (a schema to create, a lock against another instance doing the same).</summary>
    protected virtual IEnumerable<string> Preparation => [];

    private async Task EnsureTablesAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _ready) == 1) return;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var statement in Preparation.Concat(
        [

            $"CREATE TABLE IF NOT EXISTS {Members} (view_name TEXT NOT NULL, member TEXT NOT NULL, version BIGINT NOT NULL, grp TEXT, contribution TEXT, PRIMARY KEY (view_name, member))",
            $"CREATE INDEX IF NOT EXISTS aggregate_members_by_group ON {Members} (view_name, grp)",
            $"CREATE TABLE IF NOT EXISTS {Groups} (view_name TEXT NOT NULL, grp TEXT NOT NULL, revision BIGINT NOT NULL, document TEXT, dirty INTEGER NOT NULL, PRIMARY KEY (view_name, grp))",
            $"CREATE INDEX IF NOT EXISTS aggregate_groups_unwritten ON {Groups} (view_name, dirty)",
        ]))
        {
            await ExecuteAsync(connection, transaction, statement, cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _ready, 1);
    }

    private async Task<Dictionary<string, (long Version, string? Group)>> LoadMembersAsync(DbConnection connection, DbTransaction transaction, string view, List<string> keys,
        CancellationToken cancellationToken)
    {
        var stored = new Dictionary<string, (long, string?)>(StringComparer.Ordinal);
        foreach (var chunk in keys.Chunk(Chunk))
        {
            await using var command = Command(connection, transaction,
                $"SELECT member, version, grp FROM {Members} WHERE view_name = @view AND member IN ({string.Join(", ", chunk.Select((_, i) => $"@m{i}"))})",
                [("view", view), .. chunk.Select((key, i) => ($"m{i}", (object?)key))]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                stored[reader.GetString(0)] = (reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        return stored;
    }

    private async Task<IReadOnlyList<JsonObject>> ContributionsAsync(DbConnection connection, DbTransaction transaction, string view, string group, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, transaction, $"SELECT contribution FROM {Members} WHERE view_name = @view AND grp = @grp", [("view", view), ("grp", group)]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var contributions = new List<JsonObject>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            contributions.Add(JsonNode.Parse(reader.GetString(0))!.AsObject());
        return contributions;
    }

    private async Task<IReadOnlyList<GroupWrite>> DirtyAsync(DbConnection connection, string view, CancellationToken cancellationToken)
    {
        await using var command = Command(connection, null, $"SELECT grp, revision, document FROM {Groups} WHERE view_name = @view AND dirty = 1", [("view", view)]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var dirty = new List<GroupWrite>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            dirty.Add(new GroupWrite(reader.GetString(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : JsonNode.Parse(reader.GetString(2))!.AsObject()));
        return dirty;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, IEnumerable<(string Name, object? Value)> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}

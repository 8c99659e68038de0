using System.Data.Common;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.State;
using static Unbundled.Pipelines.State.SqlStateDatabase;

namespace Unbundled.Pipelines.Aggregation;

/// <summary><see cref="IAggregateStore"/> in the log's database, in SQL that SQLite and PostgreSQL both speak.</summary>
public sealed class SqlAggregateStore(SqlStateDatabase database) : IAggregateStore
{
    /// <summary>How many keys one <c>IN</c> list holds.</summary>
    private const int Chunk = 500;

    private int _ready;

    private string Members => database.Table("aggregate_members");

    private string Groups => database.Table("aggregate_groups");

    private Task<DbConnection> OpenAsync(CancellationToken cancellationToken) => database.OpenAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<GroupWrite>> ApplyAsync(string view, IReadOnlyList<MemberChange> members, Func<string, IReadOnlyList<JsonObject>, JsonObject?> compute,
        CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false))
        {
            // Two writers of one view (a fenced-out owner and its successor) must not compute a group each from what the other has not committed.
            if (database.ViewLock is { } viewLock) await ExecuteAsync(connection, transaction, viewLock, cancellationToken, ("view", view)).ConfigureAwait(false);
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
            var statements = new SqlStatements(connection, transaction);
            foreach (var member in changed.Values)
            {
                statements.Add($"""
                    INSERT INTO {Members} (view_name, member, version, grp, contribution) VALUES (@view, @member, @version, @grp, @contribution)
                    ON CONFLICT (view_name, member) DO UPDATE SET version = excluded.version, grp = excluded.grp, contribution = excluded.contribution
                    WHERE {Members}.version < excluded.version
                    """, ("view", view), ("member", member.Member), ("version", member.Version), ("grp", member.Group),
                    ("contribution", member.Contribution?.ToJsonString()));
            }
            await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            // In one order, so that two transactions touching the same groups cannot deadlock.
            var groups = touched.Order(StringComparer.Ordinal).ToList();
            var contributions = await ContributionsAsync(connection, transaction, view, groups, cancellationToken).ConfigureAwait(false);
            foreach (var group in groups)
            {
                var document = compute(group, contributions.TryGetValue(group, out var held) ? held : []);
                statements.Add($"""
                    INSERT INTO {Groups} AS g (view_name, grp, revision, document, dirty) VALUES (@view, @grp, 1, @document, 1)
                    ON CONFLICT (view_name, grp) DO UPDATE SET revision = g.revision + 1, document = excluded.document, dirty = 1
                    """, ("view", view), ("grp", group), ("document", document?.ToJsonString()));
            }
            await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
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
        var statements = new SqlStatements(connection, transaction);
        // A group changed again since (a revision above the one written) stays to be written.
        foreach (var group in written)
            statements.Add($"UPDATE {Groups} SET dirty = 0 WHERE view_name = @view AND grp = @grp AND revision = @revision",
                ("view", view), ("grp", group.Group), ("revision", group.Revision));
        await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
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
        var statements = new SqlStatements(connection, null);
        foreach (var group in groups) statements.Add($"UPDATE {Groups} SET dirty = 1 WHERE view_name = @view AND grp = @grp", ("view", view), ("grp", group));
        await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DropAsync(string view, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Members} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Groups} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
    }

    private Task EnsureTablesAsync(DbConnection connection, CancellationToken cancellationToken) => database.EnsureAsync(connection,
    [
        $"CREATE TABLE IF NOT EXISTS {Members} (view_name TEXT NOT NULL, member TEXT NOT NULL, version BIGINT NOT NULL, grp TEXT, contribution TEXT, PRIMARY KEY (view_name, member))",
        $"CREATE INDEX IF NOT EXISTS aggregate_members_by_group ON {Members} (view_name, grp)",
        $"CREATE TABLE IF NOT EXISTS {Groups} (view_name TEXT NOT NULL, grp TEXT NOT NULL, revision BIGINT NOT NULL, document TEXT, dirty INTEGER NOT NULL, PRIMARY KEY (view_name, grp))",
        $"CREATE INDEX IF NOT EXISTS aggregate_groups_unwritten ON {Groups} (view_name, dirty)",
    ], () => Volatile.Read(ref _ready) == 1, () => Volatile.Write(ref _ready, 1), cancellationToken);

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

    private async Task<Dictionary<string, List<JsonObject>>> ContributionsAsync(DbConnection connection, DbTransaction transaction, string view, List<string> groups,
        CancellationToken cancellationToken)
    {
        var contributions = new Dictionary<string, List<JsonObject>>(StringComparer.Ordinal);
        foreach (var chunk in groups.Chunk(Chunk))
        {
            await using var command = Command(connection, transaction,
                $"SELECT grp, contribution FROM {Members} WHERE view_name = @view AND grp IN ({string.Join(", ", chunk.Select((_, i) => $"@g{i}"))})",
                [("view", view), .. chunk.Select((group, i) => ($"g{i}", (object?)group))]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var group = reader.GetString(0);
                if (!contributions.TryGetValue(group, out var members)) contributions[group] = members = [];
                members.Add(JsonNode.Parse(reader.GetString(1))!.AsObject());
            }
        }
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
}

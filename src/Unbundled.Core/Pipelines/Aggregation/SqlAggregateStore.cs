using System.Data.Common;
using System.Text.Json.Nodes;
using Unbundled.Pipelines.State;
using static Unbundled.Pipelines.State.SqlStateDatabase;

namespace Unbundled.Pipelines.Aggregation;

/// <summary><see cref="IAggregateStore"/> in the log's database, in SQL that SQLite and PostgreSQL both speak.</summary>
public sealed class SqlAggregateStore(SqlStateDatabase database) : IAggregateStore, IDisposable
{
    /// <summary>How many keys one <c>IN</c> list holds.</summary>
    private const int Chunk = 500;

    private readonly KnownGroups _known = new(contributions: 1_000_000);

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
        var touched = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // Two writers of one view (a fenced-out owner and its successor) must not compute a group each from what the other has not committed.
            if (database.ViewLock is { } viewLock) await ExecuteAsync(connection, transaction, viewLock, cancellationToken, ("view", view)).ConfigureAwait(false);
            var stored = await LoadMembersAsync(connection, transaction, view, members.Select(m => m.Member).Distinct().ToList(), cancellationToken).ConfigureAwait(false);
            // Per member changed: the group it was in before the batch, and its newest change.
            var changed = new Dictionary<string, (string? Left, MemberChange Change)>(StringComparer.Ordinal);
            foreach (var member in members)
            {
                if (stored.TryGetValue(member.Member, out var held) && member.Version <= held.Version) continue;
                if (held.Group is { } left) touched.Add(left);
                if (member.Group is { } joined) touched.Add(joined);
                stored[member.Member] = (member.Version, member.Group);
                changed[member.Member] = (changed.TryGetValue(member.Member, out var first) ? first.Left : held.Group, member);
            }
            var statements = new SqlStatements(connection, transaction);
            foreach (var (_, member) in changed.Values)
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
            var contributions = await GroupsAsync(connection, transaction, view, groups, changed.Values, cancellationToken).ConfigureAwait(false);
            foreach (var group in groups)
            {
                var document = compute(group, [.. contributions[group].Members.Values]);
                statements.Add($"""
                    INSERT INTO {Groups} AS g (view_name, grp, revision, document, dirty) VALUES (@view, @grp, 1, @document, 1)
                    ON CONFLICT (view_name, grp) DO UPDATE SET revision = g.revision + 1, document = excluded.document, dirty = 1
                    """, ("view", view), ("grp", group), ("document", document?.ToJsonString()));
            }
            await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            foreach (var (group, (revision, groupMembers)) in contributions) _known.Keep(view, group, revision + 1, groupMembers);
        }
        catch
        {
            // Members kept in memory may have been changed for a transaction that did not commit.
            foreach (var group in touched) _known.Forget(view, group);
            throw;
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
    public async Task<int> ResendAsync(string view, IReadOnlyList<string>? groups, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        if (groups is null)
            return await ExecuteAsync(connection, null, $"UPDATE {Groups} SET dirty = 1 WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        var statements = new SqlStatements(connection, null);
        foreach (var group in groups) statements.Add($"UPDATE {Groups} SET dirty = 1 WHERE view_name = @view AND grp = @grp", ("view", view), ("grp", group));
        return await statements.ExecuteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DropAsync(string view, CancellationToken cancellationToken)
    {
        _known.ForgetView(view);
        await using var connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await EnsureTablesAsync(connection, cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Members} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
        await ExecuteAsync(connection, null, $"DELETE FROM {Groups} WHERE view_name = @view", cancellationToken, ("view", view)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _known.Dispose();

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
        await ReadAsync(connection, transaction, $"SELECT member, version, grp FROM {Members} WHERE view_name = @view AND member IN", "m", view, keys,
            reader => stored[reader.GetString(0)] = (reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2)), cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// The members of <paramref name="groups"/> after <paramref name="changed"/>, each group at the revision the database holds: from
    /// memory when it knows the group at that revision (the changes applied to it there), else from the database, which this
    /// transaction has already changed.
    /// </summary>
    private async Task<Dictionary<string, (long Revision, SortedDictionary<string, JsonObject> Members)>> GroupsAsync(DbConnection connection, DbTransaction transaction,
        string view, List<string> groups, IEnumerable<(string? Left, MemberChange Change)> changed, CancellationToken cancellationToken)
    {
        var revisions = new Dictionary<string, long>(StringComparer.Ordinal);
        await ReadAsync(connection, transaction, $"SELECT grp, revision FROM {Groups} WHERE view_name = @view AND grp IN", "g", view, groups,
            reader => revisions[reader.GetString(0)] = reader.GetInt64(1), cancellationToken).ConfigureAwait(false);
        var found = new Dictionary<string, (long Revision, SortedDictionary<string, JsonObject> Members)>(StringComparer.Ordinal);
        foreach (var group in groups)
        {
            var revision = revisions.GetValueOrDefault(group);
            if (_known.At(view, group, revision) is { } known) found[group] = (revision, known);
        }
        // Known members are moved in memory as the database moved them.
        foreach (var (left, change) in changed)
        {
            if (left is not null && found.TryGetValue(left, out var was)) was.Members.Remove(change.Member);
            if (change is { Group: { } joined, Contribution: { } contribution } && found.TryGetValue(joined, out var now)) now.Members[change.Member] = contribution;
        }
        var missing = groups.Where(g => !found.ContainsKey(g)).ToList();
        foreach (var group in missing) found[group] = (revisions.GetValueOrDefault(group), new SortedDictionary<string, JsonObject>(StringComparer.Ordinal));
        await ReadAsync(connection, transaction, $"SELECT grp, member, contribution FROM {Members} WHERE view_name = @view AND grp IN", "g", view, missing,
            reader => found[reader.GetString(0)].Members[reader.GetString(1)] = JsonNode.Parse(reader.GetString(2))!.AsObject(), cancellationToken).ConfigureAwait(false);
        return found;
    }

    /// <summary>Runs <paramref name="select"/> followed by an <c>IN</c> list of <paramref name="keys"/>, in chunks, handing each row to <paramref name="row"/>.</summary>
    private static async Task ReadAsync(DbConnection connection, DbTransaction transaction, string select, string name, string view, IReadOnlyList<string> keys,
        Action<DbDataReader> row, CancellationToken cancellationToken)
    {
        foreach (var chunk in keys.Chunk(Chunk))
        {
            await using var command = Command(connection, transaction, $"{select} ({string.Join(", ", chunk.Select((_, i) => $"@{name}{i}"))})",
                [("view", view), .. chunk.Select((key, i) => ($"{name}{i}", (object?)key))]);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) row(reader);
        }
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

using Npgsql;

namespace Unbundled.Connectors.Postgres.Values;

/// <summary>A PostgreSQL type as the value mapping needs it: its name, category and, for arrays, its element type.</summary>
internal sealed record PgType(uint Oid, string Name, char Category, uint Element);

/// <summary>The database's types by oid, loaded once and again when a type appears that was created since (an enum, a domain).</summary>
internal sealed class PgTypes(NpgsqlDataSource database)
{
    private Dictionary<uint, PgType> _types = [];

    /// <summary>Loads every type of the database.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        var types = new Dictionary<uint, PgType>();
        await using var command = database.CreateCommand("select oid, typname, typcategory, typelem, typbasetype from pg_type");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var domains = new List<(uint Oid, uint Base)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var oid = reader.GetFieldValue<uint>(0);
            types[oid] = new PgType(oid, reader.GetString(1), reader.GetChar(2), reader.GetFieldValue<uint>(3));
            if (reader.GetFieldValue<uint>(4) is var basis and not 0) domains.Add((oid, basis));
        }
        // A domain is written as its base type is.
        foreach (var (oid, basis) in domains)
            if (types.TryGetValue(basis, out var b)) types[oid] = b with { Oid = oid };
        _types = types;
    }

    /// <summary>The type of <paramref name="oid"/>; an unknown oid reads as text.</summary>
    public PgType this[uint oid] => _types.TryGetValue(oid, out var type) ? type : new PgType(oid, "text", 'S', 0);

    /// <summary>True when <paramref name="oid"/> is known (else <see cref="LoadAsync"/> again).</summary>
    public bool Knows(uint oid) => _types.ContainsKey(oid);
}

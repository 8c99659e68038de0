using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Unbundled.Hosting;

namespace Unbundled.Server;

/// <summary>
/// Picks the command log from configuration: <c>Unbundled:Log:Provider</c> (<c>sqlite</c> or
/// <c>postgres</c>) when set; otherwise PostgreSQL when a connection string is configured
/// (<c>Unbundled:Log:Postgres:ConnectionString</c> or the <c>UNBUNDLED_POSTGRES</c> variable), else the
/// embedded SQLite file.
/// </summary>
internal static class LogStoreSelection
{
    public static UnbundledBuilder UseConfiguredLog(this UnbundledBuilder builder, IConfiguration configuration)
    {
        var section = configuration.GetSection("Unbundled:Log");
        var postgres = section["Postgres:ConnectionString"] ?? configuration["UNBUNDLED_POSTGRES"];
        var provider = section["Provider"]?.ToLowerInvariant() ?? (postgres is null ? "sqlite" : "postgres");
        switch (provider)
        {
            case "sqlite":
                builder.UseSqliteLog(options => section.GetSection("Sqlite").Bind(options));
                break;
            case "postgres":
                if (string.IsNullOrWhiteSpace(postgres))
                    throw new InvalidOperationException("Unbundled:Log:Provider is 'postgres' but no connection string is set: set Unbundled:Log:Postgres:ConnectionString or UNBUNDLED_POSTGRES.");
                builder.UsePostgresLog(options =>
                {
                    section.GetSection("Postgres").Bind(options);
                    options.ConnectionString = postgres;
                });
                break;
            default:
                throw new InvalidOperationException($"Unbundled:Log:Provider is '{provider}'; it must be 'sqlite' or 'postgres'.");
        }
        return builder;
    }
}

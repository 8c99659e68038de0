using Microsoft.Extensions.Logging;
using Npgsql;
using Unbundled.Log;

namespace Unbundled.Log.Postgres;

/// <summary>
/// Wakes this process's log readers when any process appends: one LISTEN session on the log's channel
/// (appends NOTIFY it in their transaction), started on first use and reconnected whatever goes wrong.
/// </summary>
internal sealed class PostgresAppendListener(PostgresLogOptions options, string channel, ILogger logger) : IAsyncDisposable
{
    private readonly NpgsqlDataSource _source = CreateSource(options);
    private readonly AppendSignal _signal = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task? _listening;

    /// <summary>Completes at the next append notification (or reconnection) after this call; starts listening on first use.</summary>
    public Task Next
    {
        get
        {
            if (_listening is null) lock (_gate) _listening ??= Task.Run(ListenAsync);
            return _signal.Next;
        }
    }

    /// <summary>This process appended: its waiting readers look again without waiting for the notification.</summary>
    public void Appended() => _signal.Notify();

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_listening is not null) await _listening.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _source.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task ListenAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await using var connection = await _source.OpenConnectionAsync(token).ConfigureAwait(false);
                connection.Notification += (_, _) => _signal.Notify();
                await using (var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection))
                    await listen.ExecuteNonQueryAsync(token).ConfigureAwait(false);
                // Appends may have landed while nobody listened; let waiters look again.
                _signal.Notify();
                while (true) await connection.WaitAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                // Whatever went wrong, the listener must come back: if it ended, every waiting reader in
                // this process would fall back to the safety poll for good, silently.
                logger.LogWarning(error, "The log listener lost its connection; reconnecting");
                _signal.Notify();
                await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>
    /// The listener's own connection source: unpooled, so a session that is LISTENing is never handed
    /// to an append, and with a keepalive, because a LISTEN connection is idle by design: without
    /// pings, one that a NAT or a failover dropped without a word would look open forever and the
    /// readers of this process would only ever be woken by their safety poll.
    /// </summary>
    private static NpgsqlDataSource CreateSource(PostgresLogOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString) { Pooling = false };
        if (builder.KeepAlive == 0) builder.KeepAlive = Math.Max(1, (int)options.ListenerKeepAlive.TotalSeconds);
        return NpgsqlDataSource.Create(builder);
    }
}

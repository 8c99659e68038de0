using System.Collections.Concurrent;
using System.Diagnostics;
using Unbundled.Log;
using Unbundled.Model;

namespace Unbundled.Bench.Scenarios;

/// <summary>Notes when each log position's append returned: the instant its flush committed.</summary>
internal sealed class CommitClock
{
    private readonly ConcurrentDictionary<long, long> _committed = new();
    private readonly ConcurrentDictionary<string, long> _models = new(StringComparer.Ordinal);

    /// <summary>When the entry at <paramref name="position"/> committed.</summary>
    public bool TryGet(long position, out long timestamp) => _committed.TryGetValue(position, out timestamp);

    /// <summary>When the model with <paramref name="id"/> (of any type) first committed.</summary>
    public bool TryGetModel(string id, out long timestamp) => _models.TryGetValue(id, out timestamp);

    public ICommandLog Wrap(ICommandLog log) => new Timed(log, this);

    private sealed class Timed(ICommandLog log, CommitClock clock) : ICommandLog
    {
        public Task InitializeAsync(CancellationToken cancellationToken) => log.InitializeAsync(cancellationToken);

        public async Task<IReadOnlyList<AppendResult>> AppendAsync(IReadOnlyList<ModelAppend> appends, CancellationToken cancellationToken)
        {
            var results = await log.AppendAsync(appends, cancellationToken);
            var now = Stopwatch.GetTimestamp();
            foreach (var (append, result) in appends.Zip(results))
            {
                for (var position = result.FirstPosition; position <= result.LastPosition; position++) clock._committed[position] = now;
                clock._models.TryAdd(append.Model.Id, now);
            }
            return results;
        }

        public Task<IReadOnlyList<LogEntry>> ReadAsync(long afterPosition, int maxCount, CancellationToken cancellationToken) =>
            log.ReadAsync(afterPosition, maxCount, cancellationToken);

        public Task<long> ReadHeadAsync(CancellationToken cancellationToken) => log.ReadHeadAsync(cancellationToken);

        public Task<StoredModel> ReadModelAsync(ModelKey model, CancellationToken cancellationToken) => log.ReadModelAsync(model, cancellationToken);

        public Task<IReadOnlyList<LogEntry>> ReadModelEntriesAsync(ModelKey model, long afterVersion, CancellationToken cancellationToken) =>
            log.ReadModelEntriesAsync(model, afterVersion, cancellationToken);

        public Task WaitForEntriesAsync(long afterPosition, CancellationToken cancellationToken) => log.WaitForEntriesAsync(afterPosition, cancellationToken);
    }
}

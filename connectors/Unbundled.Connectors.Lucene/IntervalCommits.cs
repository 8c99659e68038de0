using System.Globalization;
using System.Runtime.ExceptionServices;
using Lucene.Net.Index;

namespace Unbundled.Connectors.Lucene;

/// <summary>
/// Commits an index writer with the pipeline's offset at most once per interval, and at the end of an interval that
/// left writes uncommitted. A Lucene commit flushes a segment and syncs its files: one per batch, under the demo's
/// sustained load, made the server spend a twentieth of its time paused for garbage collection (segments, their term
/// dictionaries, and the merges of hundreds of tiny segments). Readers see every batch at once all the same (near-real-time
/// searchers open on the writer); a crash loses only writes whose offset was not committed either, which the engine replays.
/// </summary>
internal sealed class IntervalCommits : IDisposable
{
    private const string OffsetKey = "unbundled.offset";

    private readonly IndexWriter _writer;
    private readonly TimeSpan _interval;
    private readonly System.Threading.Lock _lock = new();
    private readonly Timer? _timer;
    // Long ago: the first batch commits at once.
    private long _lastCommit = long.MinValue / 2;
    private bool _pending;
    private bool _stopped;
    private ExceptionDispatchInfo? _failed;

    /// <summary>Commits <paramref name="writer"/> at most once per <paramref name="interval"/>; zero commits every batch.</summary>
    public IntervalCommits(IndexWriter writer, TimeSpan interval)
    {
        (_writer, _interval) = (writer, interval);
        if (interval > TimeSpan.Zero) _timer = new Timer(_ => CommitPending(), null, interval, interval);
    }

    /// <summary>The offset of the last batch written, committed or not (0: none).</summary>
    public long Offset => _writer.CommitData.TryGetValue(OffsetKey, out var offset) ? long.Parse(offset, CultureInfo.InvariantCulture) : 0;

    /// <summary>Runs a batch's <paramref name="writes"/> and notes <paramref name="offset"/> with them; commits both when the interval has passed.</summary>
    /// <remarks>
    /// Commits fall between batches, so a commit never holds less than its offset says. (A batch that failed half way
    /// may leave writes past it, which a replay finds already there: sinks are version-guarded.)
    /// </remarks>
    public void Write(Action writes, long offset)
    {
        lock (_lock)
        {
            ThrowFailedCommit();
            writes();
            _writer.SetCommitData(new Dictionary<string, string> { [OffsetKey] = Math.Max(offset, Offset).ToString(CultureInfo.InvariantCulture) });
            _pending = true;
            if (IntervalPassed) Commit();
        }
    }

    /// <summary>Commits what is written now, whatever the interval (a generation about to go live, read by other processes from its commits).</summary>
    public void CommitNow()
    {
        lock (_lock)
        {
            ThrowFailedCommit();
            if (_pending) Commit();
        }
    }

    /// <summary>Stops committing; what is pending is committed by the writer's own close, or dropped by its rollback.</summary>
    public void Dispose()
    {
        lock (_lock) _stopped = true;
        _timer?.Dispose();
    }

    // A tick finding a batch being written leaves the commit to that batch or to the next tick, rather than queueing
    // behind it; nor does it commit again within an interval of the last commit.
    private void CommitPending()
    {
        if (!_lock.TryEnter()) return;
        try
        {
            if (!_pending || _stopped || !IntervalPassed) return;
            Commit();
        }
        catch (Exception error)
        {
            // Thrown on a timer thread it would end the process: it is handed to the next batch instead.
            _failed = ExceptionDispatchInfo.Capture(error);
        }
        finally
        {
            _lock.Exit();
        }
    }

    private bool IntervalPassed => Environment.TickCount64 - _lastCommit >= _interval.TotalMilliseconds;

    // A commit the timer could not make fails the next batch, which the pipeline reports and retries. (Under the lock.)
    private void ThrowFailedCommit()
    {
        var failed = _failed;
        _failed = null;
        failed?.Throw();
    }

    private void Commit()
    {
        _writer.Commit();
        (_pending, _lastCommit) = (false, Environment.TickCount64);
    }
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Unbundled.Log;
using Unbundled.Model;
using Unbundled.Tracing;

namespace Unbundled.Master;

/// <summary>
/// The master model: applies flushes strictly in order per model, runs interceptors, appends to the
/// command log and answers with what the client is missing. Flushes to one model are serialised in
/// this process by a lock and across processes by the version check of the append (optimistic
/// concurrency): a flush that loses the race is re-applied on the newer state.
/// </summary>
public sealed class MasterModel : IDisposable
{
    private readonly ICommandLog _log;
    private readonly ModelTypeRegistry _types;
    private readonly MasterOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<MasterModel> _logger;
    private readonly GroupCommitter _committer;
    private readonly MemoryCache _cache;
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, 1024).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly ResiliencePipeline _conflictRetry;

    /// <summary>Creates the master over a log and the registered model types.</summary>
    public MasterModel(ICommandLog log, ModelTypeRegistry types, IOptions<MasterOptions> options, TimeProvider clock, ILogger<MasterModel> logger)
    {
        _log = log;
        _types = types;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _committer = new GroupCommitter(log, _options.MaxAppendsPerTransaction);
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.CachedModels });
        _conflictRetry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ConcurrencyConflictException>(),
                MaxRetryAttempts = _options.MaxConflictRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(2),
                MaxDelay = TimeSpan.FromMilliseconds(200),
            })
            .Build();
    }

    /// <summary>Applies a client's flush and answers with the new version and what the client lacks.</summary>
    /// <exception cref="FlushRejectedException">The flush was refused; nothing was applied.</exception>
    public async Task<FlushResult> FlushAsync(FlushRequest request, CancellationToken cancellationToken)
    {
        var type = Validate(request);
        var paths = ParsePaths(request.Commands);
        using var activity = UnbundledTracing.Source.StartActivity($"flush {request.Model.Type}");
        activity?.SetTag("unbundled.model.type", request.Model.Type).SetTag("unbundled.model.id", request.Model.Id).SetTag("unbundled.commands", request.Commands.Count);
        var gate = _locks[(int)((uint)request.Model.GetHashCode() % (uint)_locks.Length)];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _conflictRetry.ExecuteAsync(
                async token => await FlushOnceAsync(request, type, paths, token).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>The model's current state, read from the log (not from this process's cache).</summary>
    /// <param name="model">The model.</param>
    /// <param name="tenant">The reader's tenant; another tenant's model reads as not found.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<ModelState> ReadAsync(ModelKey model, string? tenant, CancellationToken cancellationToken)
    {
        RequireType(model);
        var state = await ModelLoader.LoadAsync(_log, model, cancellationToken).ConfigureAwait(false);
        await AuthorizeAsync(model, state, tenant, cancellationToken).ConfigureAwait(false);
        return state;
    }

    /// <summary>The model's commands after <paramref name="afterVersion"/>, at most <paramref name="limit"/> of them.</summary>
    public async Task<IReadOnlyList<LogEntry>> ReadCommandsAsync(ModelKey model, long afterVersion, int limit, string? tenant, CancellationToken cancellationToken)
    {
        RequireType(model);
        if (afterVersion < 0) throw new FlushRejectedException(FlushError.Malformed, "the version to read after cannot be negative");
        if (tenant is not null) await AuthorizeAsync(model, await ModelLoader.LoadAsync(_log, model, cancellationToken).ConfigureAwait(false), tenant, cancellationToken).ConfigureAwait(false);
        var entries = await _log.ReadModelEntriesAsync(model, afterVersion, cancellationToken).ConfigureAwait(false);
        return entries.Count <= limit ? entries : entries.Take(limit).ToList();
    }

    /// <summary>
    /// Lets <paramref name="tenant"/> reach the model only when it is that tenant's. A deleted model still is its last
    /// tenant's: its history holds their data, and its id is not free for another tenant to create and take over.
    /// </summary>
    private async Task AuthorizeAsync(ModelKey model, ModelState state, string? tenant, CancellationToken cancellationToken)
    {
        if (tenant is null) return;
        if (state.Document is not null || state.Version == 0)
        {
            ModelTenancy.Authorize(model, state.Document, tenant);
            return;
        }
        // Only tenants' reads of deleted models pay for the replay.
        if (await ModelLoader.LastTenantAsync(_log, model, cancellationToken).ConfigureAwait(false) != tenant) throw new FlushRejectedException(FlushError.NotFound, $"there is no model {model}");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _cache.Dispose();
        foreach (var gate in _locks) gate.Dispose();
    }

    private async ValueTask<FlushResult> FlushOnceAsync(FlushRequest request, ModelType type, DocumentPath[] paths, CancellationToken cancellationToken)
    {
        var state = _cache.Get<ModelState>(request.Model);
        if (state is null || request.BaseVersion > state.Version)
            state = await ModelLoader.LoadAsync(_log, request.Model, cancellationToken).ConfigureAwait(false);
        await AuthorizeAsync(request.Model, state, request.Tenant, cancellationToken).ConfigureAwait(false);
        if (request.BaseVersion > state.Version)
            throw new FlushRejectedException(FlushError.VersionAhead,
                $"the client is at version {request.BaseVersion} but {request.Model} is at version {state.Version}");

        // The commands the client missed: read once, for the idempotency check and for the answer.
        IReadOnlyList<LogEntry>? missed = null;
        if (request.IdempotencyKey is not null && request.BaseVersion < state.Version)
        {
            missed = await _log.ReadModelEntriesAsync(request.Model, request.BaseVersion, cancellationToken).ConfigureAwait(false);
            if (FlushIdempotency.Find(request, missed) is { } answered) return answered;
        }
        if (request.Commands.Count == 0) return await AnswerAsync(request, state, state, [], missed, cancellationToken).ConfigureAwait(false);

        var now = ToMilliseconds(_clock.GetUtcNow());
        // The cached document is changed in place, under the model's lock, rather than copied for
        // every flush: copying cost as much as applying. Any failure before the append is durable
        // drops it from the cache, so a half-applied document is never seen again.
        JsonNode? document;
        Command[] applied;
        AppendResult appended;
        long maxBytes;
        try
        {
            (applied, document) = await ApplyAsync(request, type, paths, state, now, cancellationToken).ConfigureAwait(false);
            maxBytes = CheckSize(state, applied, document);
            var newVersion = state.Version + applied.Length;
            var snapshot = newVersion / _options.SnapshotEvery > state.Version / _options.SnapshotEvery
                ? new ModelSnapshot(newVersion, document)
                : null;
            appended = await _committer.AppendAsync(new ModelAppend(request.Model, state.Version, applied, now, snapshot)).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception failure)
        {
            _cache.Remove(request.Model);
            if (failure is ConcurrencyConflictException)
                _logger.LogDebug("Flush to {Model} lost a race with another writer at version {Version}; applying it again", request.Model, state.Version);
            throw;
        }

        var entries = new LogEntry[applied.Length];
        for (var i = 0; i < applied.Length; i++)
            entries[i] = new LogEntry(appended.FirstPosition + i, request.Model, state.Version + i + 1, applied[i], now);
        var after = new ModelState(state.Version + applied.Length, appended.LastPosition, document) { MaxBytes = maxBytes };
        _cache.Set(request.Model, after, new MemoryCacheEntryOptions { Size = 1 });
        return await AnswerAsync(request, state, after, entries, missed, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Refuses a flush whose resulting document would be larger than a model may hold, and returns an
    /// upper bound of its size. The bound grows by what each flush writes, so the whole document is
    /// written out only when the bound passes the limit (then it becomes exact again), not on every flush.
    /// </summary>
    private long CheckSize(ModelState before, Command[] applied, JsonNode? document)
    {
        var bound = before.MaxBytes ?? DocumentLimits.JsonSize(before.Document);
        foreach (var command in applied) bound += command.Path.Length + (command.Value is null ? 0 : DocumentLimits.JsonSize(command.Value)) + 8;
        if (bound <= _options.MaxDocumentBytes) return bound;
        var exact = DocumentLimits.JsonSize(document);
        return exact <= _options.MaxDocumentBytes ? exact
            : throw new FlushRejectedException(FlushError.TooLarge, $"the document would be {exact} bytes; a model may hold at most {_options.MaxDocumentBytes}");
    }

    private async Task<(Command[] Applied, JsonNode? Document)> ApplyAsync(
        FlushRequest request, ModelType type, DocumentPath[] paths, ModelState state, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var document = state.Document;
        var applied = new Command[request.Commands.Count];
        for (var i = 0; i < applied.Length; i++)
        {
            var command = request.Commands[i];
            if ((DocumentLimits.RefuseText(command.Path) ?? DocumentLimits.RefuseText(command.From)
                ?? DocumentLimits.Refuse(command.Value, _options.MaxDocumentDepth, paths[i].Segments.Count)) is { } refused)
                throw new FlushRejectedException(FlushError.CommandRejected, refused, i);
            try
            {
                var context = new CommandContext(request.Model, document, state.Version + i, paths[i], request.Caller, now);
                command = ModelTenancy.Stamp(command, paths[i], document, request.Tenant);
                foreach (var interceptor in type.Interceptors)
                    command = await interceptor.InterceptAsync(context, command, cancellationToken).ConfigureAwait(false);
                var path = command.Path == request.Commands[i].Path ? paths[i] : ParsePath(command.Path, i);
                // A move carries no value: what it takes is checked at the depth it lands.
                var moving = command.Op == CommandOp.Move ? ModelDocument.Find(document, DocumentPath.Parse(command.From!)) : null;
                document = ModelDocument.Apply(document, command, path);
                if (DocumentLimits.Refuse(moving, _options.MaxDocumentDepth, path.Segments.Count) is { } deep) throw new CommandFailedException(deep);
                command = UnbundledTracing.Stamp(FlushIdempotency.Mark(command, request.IdempotencyKey));
            }
            catch (CommandFailedException failure)
            {
                // The command is named by its index and its op and path as the client sent them, so a
                // client (or a person reading a log) can tell which of its queued edits was refused.
                var sent = request.Commands[i];
                throw new FlushRejectedException(failure.ItemMissing ? FlushError.ItemMissing : FlushError.CommandRejected,
                    failure.Reason, i, $"{sent.Op.WireName()} {(sent.From is null ? "" : sent.From + " -> ")}{sent.Path}");
            }
            applied[i] = command;
        }
        return (applied, document);
    }

    private async Task<FlushResult> AnswerAsync(FlushRequest request, ModelState before, ModelState after, LogEntry[] own,
        IReadOnlyList<LogEntry>? missed, CancellationToken cancellationToken)
    {
        if (request.BaseVersion == before.Version)
            return new FlushResult(request.Model, after.Version, after.LastPosition, own, null);

        missed ??= await _log.ReadModelEntriesAsync(request.Model, request.BaseVersion, cancellationToken).ConfigureAwait(false);
        var missing = missed.Where(e => e.Version <= before.Version).Concat(own).ToList();
        var commandBytes = missing.Sum(e => CommandJson.Serialize(e.Command).Length);
        var snapshotBytes = after.Document is null ? 4 : JsonSerializer.SerializeToUtf8Bytes(after.Document).Length;
        return commandBytes > snapshotBytes
            ? new FlushResult(request.Model, after.Version, after.LastPosition, null, new ModelSnapshot(after.Version, after.Document?.DeepClone()))
            : new FlushResult(request.Model, after.Version, after.LastPosition, missing, null);
    }

    // Every store keeps timestamps to the millisecond; answering with the same precision keeps a
    // flush's answer identical to what later reads of the log return.
    private static DateTimeOffset ToMilliseconds(DateTimeOffset time) => time.AddTicks(-(time.Ticks % TimeSpan.TicksPerMillisecond));

    private ModelType Validate(FlushRequest request)
    {
        var type = RequireType(request.Model);
        if (request.BaseVersion < 0)
            throw new FlushRejectedException(FlushError.Malformed, "baseVersion cannot be negative");
        if (request.Commands.Count > _options.MaxCommandsPerFlush)
            throw new FlushRejectedException(FlushError.TooLarge,
                $"the flush carries {request.Commands.Count} commands; at most {_options.MaxCommandsPerFlush} are accepted at once");
        return type;
    }

    private ModelType RequireType(ModelKey model)
    {
        if (!DocumentLimits.IsValidId(model.Id))
            throw new FlushRejectedException(FlushError.Malformed, $"'{model.Id}' is not a model id: use 1 to 128 letters, digits and . _ ~ - @");
        return _types.TryGet(model.Type, out var type)
            ? type
            : throw new FlushRejectedException(FlushError.UnknownModelType,
                $"'{model.Type}' is not a registered model type (registered: {string.Join(", ", _types.Names.Order())})");
    }

    private static DocumentPath[] ParsePaths(IReadOnlyList<Command> commands)
    {
        var paths = new DocumentPath[commands.Count];
        for (var i = 0; i < paths.Length; i++)
        {
            paths[i] = ParsePath(commands[i].Path, i);
            if (commands[i].Op == CommandOp.Move) ParsePath(commands[i].From ?? throw new FlushRejectedException(FlushError.InvalidPath, "move needs a 'from' path", i), i);
        }
        return paths;
    }

    private static DocumentPath ParsePath(string path, int index) =>
        DocumentPath.TryParse(path, out var parsed, out var error)
            ? parsed
            : throw new FlushRejectedException(FlushError.InvalidPath, error!, index);
}

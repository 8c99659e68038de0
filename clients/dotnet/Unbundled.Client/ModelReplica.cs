using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Unbundled.Model;

namespace Unbundled.Client;

/// <summary>
/// A local copy of one model, as Flushout's proxy keeps it: local commands apply at once and wait to
/// be flushed; a flush sends them with the version they were made against and takes the master's
/// answer (which may include other clients' commands); a feed brings other clients' changes in.
/// <see cref="State"/> is always the master's confirmed state with the pending commands on top.
/// </summary>
public sealed class ModelReplica(HttpClient http, string type, string id)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly List<Command> _pending = [];
    private readonly SemaphoreSlim _sync = new(1, 1);
    private JsonNode? _confirmed;

    /// <summary>The master version the confirmed state is at.</summary>
    public long Version { get; private set; }

    /// <summary>The log position of the confirmed state: subscribe to a feed after it.</summary>
    public long Position { get; private set; }

    /// <summary>The confirmed state with the pending local commands applied.</summary>
    public JsonNode? State { get; private set; }

    /// <summary>The key of the batch being flushed, with the version and size that identify the batch.</summary>
    private ((long Version, int Count) Batch, string Key)? _flushKey;

    /// <summary>Local commands not yet flushed.</summary>
    public int Pending
    {
        get { lock (_pending) return _pending.Count; }
    }

    /// <summary>Raised after the state changed, locally or from the master.</summary>
    public event Action<ModelReplica>? Changed;

    /// <summary>
    /// Raised when the master refused one pending command for good (an item it addresses was deleted
    /// meanwhile, or it broke a rule): the command is dropped, the rest are flushed, and the
    /// application tells its user with the problem's reason.
    /// </summary>
    public event Action<RejectedCommand>? Rejected;

    /// <summary>Reads the model from the master (again), keeping pending local commands on top.</summary>
    public async Task ReadAsync(CancellationToken cancellationToken = default)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var model = await http.GetFromJsonAsync<JsonObject>($"models/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}", Json, cancellationToken).ConfigureAwait(false);
            Confirm((long)model!["version"]!, (long)model["position"]!, model["state"]?.DeepClone());
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>Applies a command locally at once and queues it for the next flush; a command that does not fit throws and changes nothing.</summary>
    public void Apply(Command command)
    {
        lock (_pending)
        {
            State = ModelDocument.Apply(State?.DeepClone(), command, DocumentPath.Parse(command.Path));
            _pending.Add(command);
        }
        Changed?.Invoke(this);
    }

    /// <summary>
    /// Sends the pending commands; the master's answer becomes the confirmed state. A command the master
    /// refuses for good is dropped and reported through <see cref="Rejected"/>, then the rest are sent
    /// again; any other refusal throws and keeps them all pending.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                List<Command> sent;
                lock (_pending) sent = [.. _pending];
                if (sent.Count == 0) return;
                // One key per batch, kept while the same batch is retried, so a retry after a lost answer applies nothing twice.
                if (_flushKey?.Batch != (Version, sent.Count)) _flushKey = ((Version, sent.Count), Guid.NewGuid().ToString("N"));
                using var request = new HttpRequestMessage(HttpMethod.Post, $"models/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}/flush")
                {
                    Content = JsonContent.Create(new { baseVersion = Version, commands = sent }, options: Json),
                };
                request.Headers.Add("Idempotency-Key", _flushKey!.Value.Key);
                using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                var answer = await response.Content.ReadFromJsonAsync<JsonObject>(Json, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    _flushKey = null;
                    lock (_pending) _pending.RemoveRange(0, sent.Count);
                    ApplyMasterAnswer(answer!);
                    return;
                }
                if (!IsRefusedForGood(answer, sent.Count, out var index))
                    throw new InvalidOperationException($"the master refused the flush ({(int)response.StatusCode}): {(string?)answer?["detail"]}");
                lock (_pending) _pending.RemoveAt(index);
                Rejected?.Invoke(new RejectedCommand(sent[index], (string)answer!["type"]!, (string?)answer["reason"] ?? (string?)answer["detail"] ?? ""));
                Confirm(Version, Position, _confirmed);
            }
        }
        finally
        {
            _sync.Release();
        }
    }

    // A command the master cannot apply to its current state will not apply on a retry either: the
    // item it addresses is gone, or a rule refuses it. Keeping it pending would block every later edit.
    private static bool IsRefusedForGood(JsonObject? problem, int sent, out int index)
    {
        index = -1;
        var type = (string?)problem?["type"];
        if (type is not ("urn:unbundled:problem:item-missing" or "urn:unbundled:problem:command-rejected")) return false;
        if (problem!["commandIndex"] is not JsonValue at || !at.TryGetValue<int>(out index)) return false;
        return index >= 0 && index < sent;
    }

    /// <summary>Brings in the master's commands after the confirmed version, if <paramref name="version"/> is newer than it.</summary>
    public async Task CatchUpAsync(long version, CancellationToken cancellationToken = default)
    {
        if (version <= Version) return;
        await _sync.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (version <= Version) return;
            var answer = await http.GetFromJsonAsync<JsonObject>($"models/{Uri.EscapeDataString(type)}/{Uri.EscapeDataString(id)}/commands?since={Version}",
                Json, cancellationToken).ConfigureAwait(false);
            ApplyMasterAnswer(answer!);
        }
        finally
        {
            _sync.Release();
        }
    }

    /// <summary>Follows <paramref name="feed"/>'s <paramref name="channel"/> and keeps this replica current until cancelled.</summary>
    public async Task FollowAsync(FeedClient feed, string pipeline, string channel, CancellationToken cancellationToken)
    {
        await foreach (var message in feed.FollowAsync(pipeline, channel, Position, cancellationToken).ConfigureAwait(false))
        {
            if (message.IsMustRefetch) await ReadAsync(cancellationToken).ConfigureAwait(false);
            else if (message.IsChange) await CatchUpAsync(message.Version, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A flush answer or a commands answer: the master's commands after our version, or a snapshot.</summary>
    private void ApplyMasterAnswer(JsonObject answer)
    {
        if (answer["snapshot"] is JsonObject snapshot)
        {
            Confirm((long)snapshot["version"]!, (long?)answer["position"] ?? Position, snapshot["state"]?.DeepClone());
            return;
        }
        var (confirmed, version, position) = (_confirmed, Version, Position);
        foreach (var entry in answer["commands"]?.AsArray() ?? [])
        {
            if ((long)entry!["version"]! <= version) continue;
            var command = entry.Deserialize<Command>(Json)!;
            confirmed = ModelDocument.Apply(confirmed, command, DocumentPath.Parse(command.Path));
            (version, position) = ((long)entry["version"]!, (long)entry["position"]!);
        }
        Confirm(version, Math.Max(position, (long?)answer["position"] ?? 0), confirmed);
    }

    private void Confirm(long version, long position, JsonNode? confirmed)
    {
        lock (_pending)
        {
            (_confirmed, Version, Position) = (confirmed, version, position);
            var state = confirmed?.DeepClone();
            foreach (var command in _pending)
            {
                // A local command that no longer fits the master's newer state (its item was deleted
                // meanwhile) stays pending: the next flush gets the master's verdict and reports it. A
                // failed command leaves the document as it was, so the others still apply.
                try
                {
                    state = ModelDocument.Apply(state, command, DocumentPath.Parse(command.Path));
                }
                catch (CommandFailedException)
                {
                }
            }
            State = state;
        }
        Changed?.Invoke(this);
    }
}

/// <summary>A local command the master refused for good, with the problem type and its reason.</summary>
public sealed record RejectedCommand(Command Command, string ProblemType, string Reason);

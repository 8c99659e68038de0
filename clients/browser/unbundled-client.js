// The Unbundled browser client: plain ES modules, no build step, no dependencies.
// A ModelReplica keeps one model as Flushout's proxy does: local commands apply at once and wait
// to be flushed; a flush sends them with the version they were made against and takes the
// master's answer; a push feed (docs/feeds.md) brings other clients' changes in.

import { applyCommand, CommandError } from './commands.js';
import { subscribe } from './feed.js';
import { ModelApi } from './model-api.js';
import { isNetworkError, refusedForGood } from './problems.js';
import { Backoff } from './retry.js';

export { applyCommand, CommandError, itemKey } from './commands.js';
export { subscribe } from './feed.js';
export { ProblemError } from './problems.js';

/**
 * A local replica of one model: state = the master's confirmed state with pending local commands on
 * top. With `storage` (e.g. localStorage) the confirmed state, its version and position, and the
 * pending commands survive a page reload, so the page works offline: edits apply and queue, and are
 * flushed when the connection returns (retried with backoff, and at once on the browser's `online`).
 */
export class ModelReplica {
  #baseUrl;
  #api;
  #feed;
  #storage;
  #storageKey;
  #confirmed = null;
  #pending = [];
  #listeners = { change: new Set(), rejected: new Set(), status: new Set(), entries: new Set() };
  #subscription = null;
  #flushing = null;
  #backoff = new Backoff();
  #reported = 0;
  #closed = false;
  // The browser's word that the network is gone closes the feed (a connection the network no longer
  // carries may take minutes to fail); back online, the feed resumes from the confirmed position.
  #onOffline = () => {
    this.#subscription?.close();
    this.#subscription = null;
    this.#setOnline(false);
  };
  #onOnline = () => {
    this.#follow();
    this.#retryNow();
  };

  /**
   * `feed.state`, when given, names the member of each feed document that holds the model's whole
   * state at the message's version (a `select` of `after`): the replica takes it as is instead of
   * reading the commands it lacks, which saves a round trip per change.
   * @param {{baseUrl?: string, type: string, id: string, feed?: {pipeline: string, channel: string, state?: string},
   *   fetch?: typeof fetch, headers?: Record<string, string>, storage?: Storage}} options
   */
  constructor({ baseUrl = '', type, id, feed, fetch: fetchImpl = globalThis.fetch.bind(globalThis), headers = {}, storage = null }) {
    this.#baseUrl = baseUrl;
    this.#api = new ModelApi({ baseUrl, type, id, fetch: fetchImpl, headers, onNetwork: (online) => this.#setOnline(online) });
    this.#feed = feed;
    this.#storage = storage;
    this.#storageKey = `unbundled:${type}:${id}`;
    /** The master version of the confirmed state. */
    this.version = 0;
    /** The log position of the confirmed state. */
    this.position = 0;
    /** The log position of this replica's last successful flush: read views at it to read your writes. */
    this.flushedPosition = 0;
    /** The confirmed state with the pending local commands applied. */
    this.state = null;
    /** False after a request failed for want of a network, true after one succeeded, null before any. */
    this.online = null;
  }

  /** How many local commands wait to be flushed. */
  get pending() {
    return this.#pending.length;
  }

  /** Copies of the local commands waiting to be flushed, oldest first. */
  get pendingCommands() {
    return structuredClone(this.#pending);
  }

  /**
   * Restores what storage kept, reads the model (offline: goes on with what was kept), then follows
   * its feed from the confirmed position when one was given. Pending commands are flushed once online.
   */
  async open() {
    this.#restore();
    globalThis.addEventListener?.('online', this.#onOnline);
    globalThis.addEventListener?.('offline', this.#onOffline);
    try {
      await this.refetch();
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      this.#setOnline(false);
    }
    if (globalThis.navigator?.onLine !== false) this.#follow();
    if (this.#pending.length > 0) this.flush().catch(() => {});
    return this;
  }

  #follow() {
    if (!this.#feed || this.#subscription || this.#closed) return;
    this.#subscription = subscribe(`${this.#baseUrl}/feeds/${encodeURIComponent(this.#feed.pipeline)}`, {
      channel: this.#feed.channel,
      after: this.position,
      onMessage: (message) => this.#onFeed(message),
    });
  }

  /** Reads the model from the master again, keeping pending local commands on top. */
  async refetch() {
    const model = await this.#api.read();
    this.#confirm(model.version, model.position, model.state);
  }

  /** Applies a command locally at once and queues it for the next flush; one that does not fit throws and changes nothing. */
  apply(command) {
    this.state = applyCommand(this.state, command);
    this.#pending.push(structuredClone(command));
    this.#save();
    this.#emit('change', this.state, this);
  }

  /**
   * Sends the pending commands (one flush at a time); the master's answer becomes the confirmed state.
   * A command the master refuses for good is dropped and reported through `on('rejected')`, and the
   * rest are sent again. Without a network the commands stay pending, a retry is scheduled, and the
   * returned promise rejects.
   */
  async flush() {
    while (this.#flushing) await this.#flushing.catch(() => {});
    this.#flushing = this.#flushOnce();
    try {
      await this.#flushing;
    } catch (error) {
      if (isNetworkError(error)) this.#scheduleRetry();
      throw error;
    } finally {
      this.#flushing = null;
    }
  }

  /**
   * Registers a listener: 'change' (state, replica) after every change, local or remote; 'rejected'
   * ({command, problem}) for a command the master refused for good and that was dropped; 'status'
   * ({online, pending}) when either changes; 'entries' ([{...entry, own}]) for the master's commands
   * as they are applied, with who issued them in `meta.by`. Returns a function that unregisters it.
   */
  on(event, listener) {
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /** Registers a callback fired with the state after every change, local or remote. */
  onchange(listener) {
    return this.on('change', listener);
  }

  /** Stops following the feed and retrying. */
  close() {
    this.#closed = true;
    this.#subscription?.close();
    this.#subscription = null;
    this.#backoff.cancel();
    globalThis.removeEventListener?.('online', this.#onOnline);
    globalThis.removeEventListener?.('offline', this.#onOffline);
  }

  #flushKey = null;

  async #flushOnce() {
    for (;;) {
      const sent = this.#pending.slice();
      if (sent.length === 0) return;
      // One key per batch, kept while the same batch is retried: a retry after a lost answer is then
      // answered with the first result instead of applying the commands twice.
      const batch = `${this.version}:${sent.length}`;
      if (this.#flushKey?.batch !== batch) this.#flushKey = { batch, key: crypto.randomUUID() };
      let answer;
      try {
        answer = await this.#api.flush(this.version, sent, this.#flushKey.key);
      } catch (error) {
        // A command the master cannot apply to its current state will not apply on a retry either
        // (the item it addresses is gone, or a rule refuses it): drop it, tell the application, and
        // send the rest. Anything else (offline, server errors) keeps every command pending.
        const index = refusedForGood(error, sent.length);
        if (index === null) throw error;
        this.#pending.splice(index, 1);
        this.#emit('rejected', { command: sent[index], problem: error.problem });
        this.#confirm(this.version, this.position, this.#confirmed);
        continue;
      }
      // Commands applied locally while the flush was in flight stay pending, on top of the answer.
      this.#flushKey = null;
      this.#pending.splice(0, sent.length);
      this.flushedPosition = answer.position;
      this.#applyAnswer(answer, sent.length);
      return;
    }
  }

  #scheduleRetry() {
    if (!this.#closed) this.#backoff.schedule(() => this.#retryNow());
  }

  #retryNow() {
    this.#backoff.cancel();
    if (this.#closed || this.#pending.length === 0) return;
    this.flush().catch(() => {});
  }

  async #onFeed(message) {
    try {
      if (message.type === 'ready') {
        // The feed is (back) up: whatever waited for the network can go now.
        this.#setOnline(true);
        this.#retryNow();
      } else if (message.type === 'must-refetch') {
        await this.refetch();
      } else if (message.type === 'change' && message.version > this.version) {
        while (this.#flushing) await this.#flushing.catch(() => {});
        if (message.version <= this.version) return;
        const member = this.#feed.state;
        if (member && (message.document === null || Object.hasOwn(message.document ?? {}, member))) {
          const before = this.version;
          this.#confirm(message.version, message.position, message.document?.[member] ?? null);
          // Who did what still comes from the commands, read off the path to the screen.
          if (this.#listeners.entries.size > 0) this.#reportEntries(before);
          return;
        }
        this.#applyAnswer(await this.#api.commandsSince(this.version), 0);
      }
    } catch (error) {
      if (!isNetworkError(error)) throw error;
    }
  }

  // A flush answer or a commands answer: the master's commands after our version, or a snapshot.
  // In a flush answer the last `own` commands are this replica's, as the master applied them.
  #applyAnswer(answer, own) {
    if (answer.snapshot) {
      this.#confirm(answer.snapshot.version, answer.position ?? this.position, answer.snapshot.state);
      return;
    }
    let { version, position } = this;
    let confirmed = this.#confirmed;
    const commands = answer.commands ?? [];
    const applied = [];
    commands.forEach((entry, index) => {
      if (entry.version <= version) return;
      confirmed = applyCommand(confirmed, entry);
      version = entry.version;
      position = entry.position;
      applied.push({ ...entry, own: index >= commands.length - own });
    });
    this.#confirm(version, Math.max(position, answer.position ?? 0), confirmed);
    this.#report(applied);
  }

  async #reportEntries(after) {
    try {
      const answer = await this.#api.commandsSince(after);
      this.#report((answer.commands ?? []).map((entry) => ({ ...entry, own: false })));
    } catch (error) {
      if (!isNetworkError(error)) throw error;
    }
  }

  // Each command is reported once, whichever answer brought it first.
  #report(entries) {
    const fresh = entries.filter((entry) => entry.version > this.#reported);
    if (fresh.length === 0) return;
    this.#reported = fresh[fresh.length - 1].version;
    this.#emit('entries', fresh);
  }

  #confirm(version, position, confirmed) {
    this.#confirmed = confirmed ?? null;
    this.version = version;
    this.position = position;
    let state = this.#confirmed;
    for (const command of this.#pending) {
      // A local command that no longer fits the master's newer state (its item was deleted
      // meanwhile) stays pending: the next flush gets the master's verdict and reports it.
      try {
        state = applyCommand(state, command);
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
      }
    }
    this.state = state;
    this.#save();
    this.#emit('change', this.state, this);
  }

  #restore() {
    const kept = this.#storage?.getItem(this.#storageKey);
    if (!kept) return;
    const { version, position, confirmed, pending } = JSON.parse(kept);
    this.#pending = pending ?? [];
    this.#confirm(version ?? 0, position ?? 0, confirmed);
  }

  #save() {
    const kept = { version: this.version, position: this.position, confirmed: this.#confirmed, pending: this.#pending };
    this.#storage?.setItem(this.#storageKey, JSON.stringify(kept));
    this.#emit('status', { online: this.online, pending: this.#pending.length });
  }

  #setOnline(online) {
    if (online) this.#backoff.reset();
    if (this.online === online) return;
    this.online = online;
    this.#emit('status', { online, pending: this.#pending.length });
  }

  #emit(event, ...args) {
    for (const listener of this.#listeners[event]) listener(...args);
  }
}

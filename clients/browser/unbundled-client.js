// The Unbundled browser client: a plain ES module, no build step, no dependencies.
// A ModelReplica keeps one model as Flushout's proxy does: local commands apply at once and wait
// to be flushed; a flush sends them with the version they were made against and takes the
// master's answer; a push feed (docs/feeds.md) brings other clients' changes in.

/** Thrown when a command does not fit the document; nothing was changed. */
export class CommandError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CommandError';
  }
}

/** Thrown when the server refuses a request with an RFC 7807 problem; `problem` holds it. */
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `the server answered ${status}`);
    this.name = 'ProblemError';
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Applies one command ({op: 'create'|'update'|'delete', path, value}) to a document, with the same
 * meaning as the server's ModelDocument.Apply. Returns the new root; the input is not changed.
 * @param {any} document the current document (undefined or null: the model does not exist)
 * @param {{op: string, path: string, value?: any}} command
 * @returns {any} the new document (null once the model is deleted)
 */
export function applyCommand(document, command) {
  const segments = parsePointer(command.path);
  const exists = document !== undefined && document !== null;
  if (segments.length === 0) return applyAtRoot(exists ? document : null, command);
  if (!exists) throw new CommandError('the model does not exist yet: create it at the root path "" first');

  const root = structuredClone(document);
  let parent = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const next = child(parent, segments[i]);
    if (next === undefined || next === null) {
      throw new CommandError(`'${command.path}' does not exist: nothing at '${prefix(segments, i + 1)}'`);
    }
    parent = next;
  }
  const last = segments[segments.length - 1];
  if (Array.isArray(parent)) applyToItem(parent, last, command);
  else if (isObject(parent)) applyToMember(parent, last, command);
  else throw new CommandError(`'${command.path}' goes inside a ${describe(parent)}, which has no members`);
  return root;
}

function applyAtRoot(document, command) {
  switch (command.op) {
    case 'create':
      if (document !== null) throw new CommandError('the model exists already; update it instead');
      return requireValue(command);
    case 'update':
      if (document === null) throw new CommandError('the model does not exist; create it first');
      return requireValue(command);
    case 'delete':
      if (document === null) throw new CommandError('the model does not exist');
      return null;
    default:
      throw new CommandError(`'${command.op}' is not an operation: use create, update or delete`);
  }
}

function applyToMember(object, name, command) {
  const exists = Object.hasOwn(object, name);
  switch (command.op) {
    case 'create':
      if (exists) throw new CommandError(`'${command.path}' exists already; update it instead`);
      object[name] = requireValue(command);
      return;
    case 'update':
      if (!exists) throw new CommandError(`'${command.path}' does not exist; create it first`);
      object[name] = requireValue(command);
      return;
    case 'delete':
      if (!exists) throw new CommandError(`'${command.path}' does not exist`);
      delete object[name];
      return;
    default:
      throw new CommandError(`'${command.op}' is not an operation: use create, update or delete`);
  }
}

function applyToItem(array, token, command) {
  if (token === '-') {
    if (command.op !== 'create') throw new CommandError(`'${command.path}': '-' (after the last item) can only be created`);
    array.push(requireValue(command));
    return;
  }
  const index = arrayIndex(token);
  if (index === null) throw new CommandError(`'${command.path}': '${token}' is not an array index`);
  switch (command.op) {
    case 'create':
      if (index > array.length) throw new CommandError(`'${command.path}': index ${index} is past the end of an array of ${array.length}`);
      array.splice(index, 0, requireValue(command));
      return;
    case 'update':
      if (index >= array.length) throw new CommandError(`'${command.path}' does not exist: the array has ${array.length} items`);
      array[index] = requireValue(command);
      return;
    case 'delete':
      if (index >= array.length) throw new CommandError(`'${command.path}' does not exist: the array has ${array.length} items`);
      array.splice(index, 1);
      return;
    default:
      throw new CommandError(`'${command.op}' is not an operation: use create, update or delete`);
  }
}

function parsePointer(path) {
  if (typeof path !== 'string') throw new CommandError('the path is missing');
  if (path === '') return [];
  if (!path.startsWith('/')) throw new CommandError(`'${path}' is not a JSON Pointer: it must be empty or start with '/'`);
  return path.slice(1).split('/').map((token, i) => {
    if (/~(?![01])/.test(token)) throw new CommandError(`'${path}' has '~' not followed by 0 or 1 in segment ${i + 1}`);
    return token.replaceAll('~1', '/').replaceAll('~0', '~');
  });
}

function child(node, segment) {
  if (Array.isArray(node)) {
    const index = arrayIndex(segment);
    return index !== null && index < node.length ? node[index] : undefined;
  }
  return isObject(node) && Object.hasOwn(node, segment) ? node[segment] : undefined;
}

// Like the server: digits only, no leading zero, and within a 32-bit index.
function arrayIndex(token) {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return null;
  const index = Number(token);
  return index <= 2147483647 ? index : null;
}

function requireValue(command) {
  if (command.value === undefined || command.value === null) throw new CommandError(`${command.op} needs a value`);
  return structuredClone(command.value);
}

const isObject = (node) => typeof node === 'object' && node !== null && !Array.isArray(node);
const describe = (node) => (typeof node === 'boolean' ? String(node) : typeof node);
const prefix = (segments, count) =>
  '/' + segments.slice(0, count).map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

/**
 * Follows a channel of a push feed over EventSource, resuming by itself after drops (the browser
 * sends Last-Event-ID). `onMessage` gets every change, `ready` and `must-refetch` message.
 * @param {string} url the feed, e.g. '/feeds/list-feed'
 * @param {{channel: string, after?: number, onMessage: (message: object) => void, onError?: (event: Event) => void}} options
 * @returns {{close: () => void}}
 */
export function subscribe(url, { channel, after, onMessage, onError }) {
  const query = new URLSearchParams({ channel });
  if (after !== undefined && after !== null) query.set('after', String(after));
  const source = new EventSource(`${url}?${query}`);
  for (const type of ['change', 'ready', 'must-refetch', 'cut-off']) {
    source.addEventListener(type, (event) => onMessage(JSON.parse(event.data)));
  }
  if (onError) source.addEventListener('error', onError);
  return { close: () => source.close() };
}

/** A local replica of one model: state = the master's confirmed state with pending local commands on top. */
export class ModelReplica {
  #baseUrl;
  #type;
  #id;
  #feed;
  #fetch;
  #confirmed = null;
  #pending = [];
  #listeners = new Set();
  #subscription = null;
  #flushing = null;

  /**
   * @param {{baseUrl?: string, type: string, id: string, feed?: {pipeline: string, channel: string}, fetch?: typeof fetch}} options
   */
  constructor({ baseUrl = '', type, id, feed, fetch: fetchImpl = globalThis.fetch.bind(globalThis) }) {
    this.#baseUrl = baseUrl;
    this.#type = type;
    this.#id = id;
    this.#feed = feed;
    this.#fetch = fetchImpl;
    /** The master version of the confirmed state. */
    this.version = 0;
    /** The log position of the confirmed state. */
    this.position = 0;
    /** The confirmed state with the pending local commands applied. */
    this.state = null;
  }

  /** How many local commands wait to be flushed. */
  get pending() {
    return this.#pending.length;
  }

  /** Reads the model, then follows its feed when one was given. */
  async open() {
    await this.refetch();
    if (this.#feed) {
      this.#subscription = subscribe(`${this.#baseUrl}/feeds/${encodeURIComponent(this.#feed.pipeline)}`, {
        channel: this.#feed.channel,
        after: this.position,
        onMessage: (message) => this.#onFeed(message),
      });
    }
    return this;
  }

  /** Reads the model from the master again, keeping pending local commands on top. */
  async refetch() {
    const model = await this.#request(`${this.#modelUrl()}`);
    this.#confirm(model.version, model.position, model.state);
  }

  /** Applies a command locally at once and queues it for the next flush; one that does not fit throws and changes nothing. */
  apply(command) {
    this.state = applyCommand(this.state, command);
    this.#pending.push(structuredClone(command));
    this.#notify();
  }

  /** Sends the pending commands (one flush at a time); the master's answer becomes the confirmed state. */
  async flush() {
    while (this.#flushing) await this.#flushing.catch(() => {});
    this.#flushing = this.#flushOnce();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  /** Registers a callback fired with the state after every change, local or remote. */
  onchange(listener) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops following the feed. */
  close() {
    this.#subscription?.close();
    this.#subscription = null;
  }

  async #flushOnce() {
    const sent = this.#pending.slice();
    if (sent.length === 0) return;
    const answer = await this.#request(`${this.#modelUrl()}/flush`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ baseVersion: this.version, commands: sent }),
    });
    // Commands applied locally while the flush was in flight stay pending, on top of the answer.
    this.#pending.splice(0, sent.length);
    this.#applyAnswer(answer);
  }

  async #onFeed(message) {
    if (message.type === 'must-refetch') {
      await this.refetch();
    } else if (message.type === 'change' && message.version > this.version) {
      while (this.#flushing) await this.#flushing.catch(() => {});
      if (message.version <= this.version) return;
      this.#applyAnswer(await this.#request(`${this.#modelUrl()}/commands?since=${this.version}`));
    }
  }

  // A flush answer or a commands answer: the master's commands after our version, or a snapshot.
  #applyAnswer(answer) {
    if (answer.snapshot) {
      this.#confirm(answer.snapshot.version, answer.position ?? this.position, answer.snapshot.state);
      return;
    }
    let { version, position } = this;
    let confirmed = this.#confirmed;
    for (const entry of answer.commands ?? []) {
      if (entry.version <= version) continue;
      confirmed = applyCommand(confirmed, entry);
      version = entry.version;
      position = entry.position;
    }
    this.#confirm(version, Math.max(position, answer.position ?? 0), confirmed);
  }

  #confirm(version, position, confirmed) {
    this.#confirmed = confirmed ?? null;
    this.version = version;
    this.position = position;
    let state = this.#confirmed;
    for (const command of this.#pending) {
      // A local command that no longer fits the master's newer state stays pending: the next
      // flush reports the master's problem for it instead of it vanishing here.
      try {
        state = applyCommand(state, command);
      } catch (error) {
        if (!(error instanceof CommandError)) throw error;
      }
    }
    this.state = state;
    this.#notify();
  }

  #notify() {
    for (const listener of this.#listeners) listener(this.state, this);
  }

  #modelUrl() {
    return `${this.#baseUrl}/models/${encodeURIComponent(this.#type)}/${encodeURIComponent(this.#id)}`;
  }

  async #request(url, init) {
    const response = await this.#fetch(url, init);
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ProblemError(response.status, body);
    return body;
  }
}

// Command semantics of the master model, for the browser: applyCommand gives a command exactly the
// meaning the server's ModelDocument.Apply gives it (tests/Unbundled.Tests/Browser cross-checks them
// case by case). Reference: docs/model.md.

/** Thrown when a command does not fit the document; nothing was changed. `itemMissing`: an item addressed by key is gone. */
export class CommandError extends Error {
  constructor(message, itemMissing = false) {
    super(message);
    this.name = 'CommandError';
    this.itemMissing = itemMissing;
  }
}

/** The path segment that addresses the array item whose `member` (default `id`) is `value`, escaped for JSON Pointer. */
export function itemKey(value, member = 'id') {
  return `[${member}=${value}]`.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Applies one command ({op: 'create'|'update'|'delete'|'move', path, from?, value}) to a document,
 * with the same meaning as the server's ModelDocument.Apply: array items by index, '-' (after the
 * last, create only) or key ('[id=abc]', resolved against the document as it is now); create at an
 * index or key inserts before that item; move takes the value at `from` out and creates it at `path`.
 * Returns the new root; the input is not changed.
 * @param {any} document the current document (undefined or null: the model does not exist)
 * @param {{op: string, path: string, from?: string, value?: any}} command
 * @returns {any} the new document (null once the model is deleted)
 */
export function applyCommand(document, command) {
  const segments = parsePointer(command.path);
  const exists = document !== undefined && document !== null;
  if (command.op === 'move') return move(exists ? document : null, command, segments);
  if (segments.length === 0) return applyAtRoot(exists ? document : null, command);
  if (!exists) throw new CommandError('the model does not exist yet: create it at the root path "" first');

  const root = structuredClone(document);
  applyAt(navigate(root, segments, command.path), segments, command.op, command, command.path);
  return root;
}

function applyAt(parent, segments, op, command, path) {
  const last = segments[segments.length - 1];
  if (Array.isArray(parent)) applyToItem(parent, last, op, command, path, segments);
  else if (isObject(parent)) applyToMember(parent, last, op, command, path);
  else throw new CommandError(`'${path}' goes inside a ${describe(parent)}, which has no members`);
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
      throw new CommandError(`'${command.op}' is not an operation: use create, update, delete or move`);
  }
}

// Works on a copy, so a create that fails after the value left `from` changes nothing either.
function move(document, command, segments) {
  if (typeof command.from !== 'string') throw new CommandError("move needs a 'from' path");
  const from = parsePointer(command.from);
  if (from.length === 0 || segments.length === 0) throw new CommandError('move cannot take or replace the whole document');
  if (document === null) throw new CommandError('the model does not exist yet: create it at the root path "" first');

  const root = structuredClone(document);
  const source = navigate(root, from, command.from);
  const name = from[from.length - 1];
  let moved;
  let at;
  if (Array.isArray(source)) {
    at = resolveItem(source, name, command.from, from, from.length - 1);
    moved = source[at];
  } else if (isObject(source)) {
    if (!Object.hasOwn(source, name)) throw new CommandError(`'${command.from}' does not exist`);
    moved = source[name];
  } else {
    throw new CommandError(`'${command.from}' goes inside a ${describe(source)}, which has no members`);
  }
  if (command.from === command.path) return root;

  if (Array.isArray(source)) source.splice(at, 1);
  else delete source[name];
  applyAt(navigate(root, segments, command.path), segments, 'create', { op: 'create', value: moved }, command.path);
  return root;
}

function navigate(root, segments, path) {
  let node = root;
  for (let i = 0; i < segments.length - 1; i++) {
    const segment = segments[i];
    let next;
    if (Array.isArray(node) && parseKey(segment)) next = node[resolveItem(node, segment, path, segments, i)];
    else next = child(node, segment);
    if (next === undefined || next === null) {
      throw new CommandError(`'${path}' does not exist: nothing at '${prefix(segments, i + 1)}'`);
    }
    node = next;
  }
  return node;
}

function applyToMember(object, name, op, command, path) {
  const exists = Object.hasOwn(object, name);
  switch (op) {
    case 'create':
      if (exists) throw new CommandError(`'${path}' exists already; update it instead`);
      object[name] = requireValue(command);
      return;
    case 'update':
      if (!exists) throw new CommandError(`'${path}' does not exist; create it first`);
      object[name] = requireValue(command);
      return;
    case 'delete':
      if (!exists) throw new CommandError(`'${path}' does not exist`);
      delete object[name];
      return;
    default:
      throw new CommandError(`'${op}' is not an operation: use create, update, delete or move`);
  }
}

function applyToItem(array, token, op, command, path, segments) {
  if (!['create', 'update', 'delete'].includes(op)) throw new CommandError(`'${op}' is not an operation: use create, update, delete or move`);
  if (token === '-') {
    if (op !== 'create') throw new CommandError(`'${path}': '-' (after the last item) can only be created`);
    array.push(requireValue(command));
    return;
  }
  if (parseKey(token)) {
    const at = resolveItem(array, token, path, segments, segments.length - 1);
    if (op === 'create') array.splice(at, 0, requireValue(command));
    else if (op === 'update') array[at] = requireValue(command);
    else array.splice(at, 1);
    return;
  }
  const index = arrayIndex(token);
  if (index === null) throw new CommandError(`'${path}': '${token}' is not an array index or an item key like [id=abc]`);
  switch (op) {
    case 'create':
      if (index > array.length) throw new CommandError(`'${path}': index ${index} is past the end of an array of ${array.length}`);
      array.splice(index, 0, requireValue(command));
      return;
    case 'update':
      if (index >= array.length) throw new CommandError(`'${path}' does not exist: the array has ${array.length} items`);
      array[index] = requireValue(command);
      return;
    default:
      if (index >= array.length) throw new CommandError(`'${path}' does not exist: the array has ${array.length} items`);
      array.splice(index, 1);
  }
}

// '[member=value]': the member is not empty, the value may hold any character (ItemKey.TryParse).
function parseKey(token) {
  if (token.length < 4 || token[0] !== '[' || token[token.length - 1] !== ']') return null;
  const equals = token.indexOf('=');
  if (equals < 2 || equals > token.length - 2) return null;
  return { member: token.slice(1, equals), value: token.slice(equals + 1, -1) };
}

// The index of the one item a key or index token selects, as the server's ResolveItem.
function resolveItem(array, token, path, segments, segment) {
  const key = parseKey(token);
  if (!key) {
    const index = arrayIndex(token);
    if (index !== null && index < array.length) return index;
    throw new CommandError(`'${path}' does not exist: nothing at '${prefix(segments, segment + 1)}'`);
  }
  let found = -1;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (!isObject(item) || item[key.member] !== key.value || !Object.hasOwn(item, key.member)) continue;
    if (found >= 0) throw new CommandError(`'${path}': more than one item has ${key.member} '${key.value}', so the key does not say which`);
    found = i;
  }
  if (found < 0) throw new CommandError(`'${path}': no item with ${key.member} '${key.value}' in '${prefix(segments, segment)}' (deleted meanwhile?)`, true);
  return found;
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

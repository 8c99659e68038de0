// The demo page: a list of lists, one list open as a ModelReplica (local edits at once, flushed,
// queued offline in localStorage), a search box that reads its own writes, and the activity of
// other people as it arrives. Served by the server at /client/; no framework, no build step.

import { ModelReplica, ProblemError } from './unbundled-client.js';
import { ListDirectory, renderLists } from './lists.js';
import { describe, flash, renderTodos, todoIdOf } from './todo-view.js';
import { searchBox } from './search.js';

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const pipelines = {
  feed: query.get('feed') ?? 'list-feed',
  lists: query.get('lists') ?? 'lists-feed',
  index: query.get('index') ?? 'list-index',
  search: query.get('search') ?? 'todo-search',
};

// Who you are travels as a header; the server takes it only when configured to trust it
// (Unbundled:Server:TrustedUserHeader=X-Unbundled-User with TrustedProxies:0=127.0.0.1, a loopback demo only),
// otherwise everyone is "anonymous".
const headers = { 'X-Unbundled-User': localStorage.getItem('unbundled:user') ?? `guest-${Math.random().toString(36).slice(2, 6)}` };
$('user').value = headers['X-Unbundled-User'];
$('user').addEventListener('change', () => {
  const name = $('user').value.trim();
  if (!name) return;
  headers['X-Unbundled-User'] = name;
  localStorage.setItem('unbundled:user', name);
});

let replica = null;
let currentId = null;
let lastFlushPosition = 0;
const titles = new Map();

const directory = new ListDirectory({
  index: pipelines.index,
  feed: pipelines.lists,
  onchange: (lists) => renderLists($('lists'), lists, currentId, { open: openList }),
});
const search = searchBox({ input: $('search'), results: $('hits'), pipeline: pipelines.search, position: () => lastFlushPosition, open: openList });

async function openList(id) {
  replica?.close();
  currentId = id;
  localStorage.setItem('unbundled:list', id);
  const url = new URL(location.href);
  url.searchParams.set('list', id);
  history.replaceState(null, '', url);
  $('activity').replaceChildren();
  $('todos').replaceChildren();
  $('rename-form').hidden = true;
  renderLists($('lists'), directory.lists, id, { open: openList });

  const next = new ModelReplica({ type: 'todo-list', id, feed: { pipeline: pipelines.feed, channel: `list:${id}`, state: 'state' }, headers, storage: localStorage });
  replica = window.replica = next;
  const mine = (listener) => (...args) => replica === next && listener(...args);
  next.on('change', mine(render));
  next.on('status', mine(renderStatus));
  next.on('rejected', mine(({ command, problem }) => {
    const why = problem?.type === 'urn:unbundled:problem:item-missing'
      ? 'someone else deleted that todo meanwhile'
      : problem?.reason ?? problem?.detail ?? 'the server refused it';
    notice(`Not applied: you ${describe(command, next.state, titles)}, but ${why}.`);
  }));
  next.on('entries', mine(showActivity));
  render();
  try {
    await next.open();
  } catch (error) {
    notice(`Cannot open ${id}: ${error.message}`);
  }
  if (replica === next) {
    render();
    document.body.dataset.ready = id;
  }
}

function render() {
  const state = replica.state;
  for (const todo of state?.todos ?? []) titles.set(todo.id, todo.title);
  lastFlushPosition = Math.max(lastFlushPosition, replica.flushedPosition);
  $('title').textContent = state?.title ?? `${currentId} (new list)`;
  const pending = new Set(replica.pendingCommands.map((c) => todoIdOf(c.path, c.value) ?? todoIdOf(c.from)).filter(Boolean));
  renderTodos($('todos'), state, { pending, act: change });
  $('empty').hidden = (state?.todos?.length ?? 0) > 0;
  renderStatus();
}

function renderStatus() {
  if (!replica) return;
  const online = replica.online !== false && navigator.onLine;
  const status = $('status');
  status.className = `status ${online ? 'online' : 'offline'}`;
  const pending = replica.pending === 0 ? 'all saved' : `${replica.pending} pending`;
  status.textContent = `${online ? 'Online' : 'Offline: edits are kept and sent when the network returns'} · ${pending} · version ${replica.version}`;
  document.body.dataset.pending = String(replica.pending);
}

// Every edit applies locally at once; the flush follows. Offline, the replica keeps it queued
// (and stored) and retries by itself; a refusal for good comes back through 'rejected'.
function change(command) {
  const target = replica;
  try {
    if (target.state === null && command.path !== '') target.apply({ op: 'create', path: '', value: { title: currentId, todos: [] } });
    target.apply(command);
  } catch (error) {
    notice(`Not applied: ${error.message}`);
    return;
  }
  target.flush().then(() => {
    lastFlushPosition = Math.max(lastFlushPosition, target.flushedPosition);
    search.refresh();
  }, (error) => {
    if (error instanceof ProblemError) notice(`Not saved: ${error.message}`);
  });
}

function showActivity(entries) {
  for (const entry of entries) {
    const id = todoIdOf(entry.path, entry.value) ?? todoIdOf(entry.from);
    if (!entry.own && id) flash($('todos'), id);
    const item = document.createElement('li');
    const time = Object.assign(document.createElement('time'), {
      dateTime: entry.timestamp,
      textContent: new Date(entry.timestamp).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }),
    });
    const who = entry.own ? 'you' : entry.meta?.by ?? 'someone';
    item.append(time, `${who} ${describe(entry, replica.state, titles)}`);
    $('activity').prepend(item);
  }
  while ($('activity').children.length > 12) $('activity').lastElementChild.remove();
  if (entries.some((entry) => !entry.own)) {
    $('live').classList.add('on');
    setTimeout(() => $('live').classList.remove('on'), 800);
  }
}

function notice(text) {
  const element = Object.assign(document.createElement('div'), { className: 'notice', textContent: text });
  $('notices').append(element);
  setTimeout(() => element.remove(), 8000);
  while ($('notices').children.length > 3) $('notices').firstElementChild.remove();
}

$('add').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text) return;
  // The id is made here, so later edits queued offline can address the todo before the server saw it.
  change({ op: 'create', path: '/todos/-', value: { id: crypto.randomUUID(), title: text, done: false } });
  $('text').value = '';
});

$('new-list').addEventListener('submit', async (event) => {
  event.preventDefault();
  const title = $('new-list-title').value.trim();
  if (!title) return;
  const slug = title.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32) || 'list';
  const id = `${slug}-${Math.random().toString(36).slice(2, 6)}`;
  $('new-list-title').value = '';
  directory.note(id, title);
  await openList(id);
  change({ op: 'create', path: '', value: { title, todos: [] } });
});

$('rename').addEventListener('click', () => {
  $('rename-form').hidden = false;
  $('rename-title').value = replica.state?.title ?? '';
  $('rename-title').focus();
});
$('rename-cancel').addEventListener('click', () => ($('rename-form').hidden = true));
$('rename-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const title = $('rename-title').value.trim();
  $('rename-form').hidden = true;
  if (!title || replica.state === null) return;
  change({ op: 'update', path: '/title', value: title });
  directory.note(currentId, title);
});

// Deleting asks twice (no modal dialog): the first click arms the button for a few seconds.
$('delete-list').addEventListener('click', () => {
  const button = $('delete-list');
  if (button.dataset.armed !== 'true') {
    button.dataset.armed = 'true';
    button.textContent = 'Really delete?';
    setTimeout(() => {
      button.dataset.armed = 'false';
      button.textContent = 'Delete list';
    }, 4000);
    return;
  }
  button.dataset.armed = 'false';
  button.textContent = 'Delete list';
  if (replica.state === null) return;
  const deleted = currentId;
  change({ op: 'delete', path: '' });
  directory.forget(deleted);
  const other = [...directory.lists.keys()].find((id) => id !== deleted);
  if (other) openList(other);
});

// The service worker keeps the page's files, so a reload with the network cut still opens the page.
navigator.serviceWorker?.register('/client/sw.js', { scope: '/client/' }).catch(() => {});
addEventListener('online', renderStatus);
addEventListener('offline', renderStatus);
directory.open();
openList(query.get('list') ?? localStorage.getItem('unbundled:list') ?? 'groceries');

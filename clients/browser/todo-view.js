// How the demo page shows one list: todos kept in place by id (so a todo being renamed keeps its
// input, and a changed todo can flash), pending markers, and words for what a command did.

import { itemKey } from './commands.js';

const unescape = (token) => token.replaceAll('~1', '/').replaceAll('~0', '~');

/** The id of the todo a command touches (by its key, or the id of a todo it creates), or null. */
export function todoIdOf(path, value) {
  const keyed = /^\/todos\/\[id=([^/\]]*)\]/.exec(path ?? '');
  if (keyed) return unescape(keyed[1]);
  return path === '/todos/-' && value && typeof value.id === 'string' ? value.id : null;
}

/**
 * Words for a command of the list, for the activity pane and for notices ("ticked “Milk”"); `titles`
 * remembers the titles of todos that are gone from `state`.
 */
export function describe(command, state, titles = new Map()) {
  // A move is about the todo it takes (`from`); the path only names where it goes.
  const id = command.op === 'move' ? todoIdOf(command.from) : todoIdOf(command.path, command.value);
  const todo = state?.todos?.find((t) => t.id === id);
  const name = `“${todo?.title ?? titles.get(id) ?? command.value?.title ?? 'a todo'}”`;
  if (command.path === '') return command.op === 'delete' ? 'deleted the list' : 'created the list';
  if (command.path === '/title') return `renamed the list to “${command.value}”`;
  if (command.op === 'move') return `moved ${name}`;
  if (command.path === '/todos/-') return `added ${name}`;
  if (command.path.endsWith('/done')) return `${command.value ? 'ticked' : 'unticked'} ${name}`;
  if (command.path.endsWith('/title')) return `renamed ${name === `“${command.value}”` ? 'a todo' : name} to “${command.value}”`;
  if (command.op === 'delete') return `deleted ${name}`;
  return `${command.op} ${command.path}`;
}

/**
 * Renders the todos of `state` into `list`, reusing each todo's element by id. `act(command)` is
 * called with the command a control issues; `pending` is the set of todo ids with unflushed edits.
 */
export function renderTodos(list, state, { pending, act }) {
  const todos = Array.isArray(state?.todos) ? state.todos : [];
  const existing = new Map([...list.children].map((li) => [li.dataset.id, li]));
  todos.forEach((todo, index) => {
    const li = existing.get(todo.id) ?? createItem(todo.id, act);
    existing.delete(todo.id);
    update(li, todo, { pending: pending.has(todo.id), previous: todos[index - 1]?.id, next: todos[index + 1]?.id });
    if (list.children[index] !== li) list.insertBefore(li, list.children[index] ?? null);
  });
  for (const gone of existing.values()) gone.remove();
}

/** Makes the todo with `id` flash for a moment: another client changed it. */
export function flash(list, id) {
  const li = [...list.children].find((item) => item.dataset.id === id);
  if (!li) return;
  li.classList.add('flash');
  setTimeout(() => li.classList.remove('flash'), 1200);
}

function createItem(id, act) {
  const key = `/todos/${itemKey(id)}`;
  const li = document.createElement('li');
  li.className = 'todo';
  li.dataset.id = id;
  const box = Object.assign(document.createElement('input'), { type: 'checkbox' });
  box.addEventListener('change', () => act({ op: 'update', path: `${key}/done`, value: box.checked }));
  const title = Object.assign(document.createElement('span'), { className: 'title' });
  title.addEventListener('dblclick', () => startRename(li, title, key, act));
  const by = Object.assign(document.createElement('span'), { className: 'by' });
  const badge = Object.assign(document.createElement('span'), { className: 'badge', textContent: 'pending' });
  const up = button('↑', 'up', () => li.dataset.previous && act({ op: 'move', from: key, path: `/todos/${itemKey(li.dataset.previous)}` }));
  const down = button('↓', 'down', () => li.dataset.next && act({ op: 'move', from: `/todos/${itemKey(li.dataset.next)}`, path: key }));
  const remove = button('✕', 'delete', () => act({ op: 'delete', path: key }));
  li.append(box, title, by, badge, up, down, remove);
  return li;
}

// Moving up is "me before my previous todo", down "my next todo before me": both name todos, so a
// reorder rebased after other clients' changes still means what its author saw. Only what changed is
// written: every change redraws the list, and untouched todos should cost the page nothing.
function update(li, todo, { pending, previous, next }) {
  const [box, title, by, , up, down, remove] = li.children;
  li.classList.toggle('done', !!todo.done);
  li.classList.toggle('pending', pending);
  if (box.checked !== !!todo.done) box.checked = !!todo.done;
  if (!li.querySelector('.edit') && title.textContent !== todo.title) title.textContent = todo.title;
  const creator = todo.createdBy ? `by ${todo.createdBy}` : '';
  if (by.textContent !== creator) by.textContent = creator;
  if (li.dataset.previous !== (previous ?? '')) li.dataset.previous = previous ?? '';
  if (li.dataset.next !== (next ?? '')) li.dataset.next = next ?? '';
  up.disabled = !previous;
  down.disabled = !next;
  if (li.dataset.labelled !== todo.title) {
    li.dataset.labelled = todo.title;
    box.setAttribute('aria-label', `Done: ${todo.title}`);
    up.setAttribute('aria-label', `Move ${todo.title} up`);
    down.setAttribute('aria-label', `Move ${todo.title} down`);
    remove.setAttribute('aria-label', `Delete ${todo.title}`);
  }
}

function startRename(li, title, key, act) {
  if (li.querySelector('.edit')) return;
  const input = Object.assign(document.createElement('input'), { className: 'edit', value: title.textContent });
  input.setAttribute('aria-label', 'Todo title');
  const finish = (save) => {
    if (!input.isConnected) return;
    const text = input.value.trim();
    input.replaceWith(title);
    if (save && text && text !== title.textContent) act({ op: 'update', path: `${key}/title`, value: text });
  };
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') finish(true);
    if (event.key === 'Escape') finish(false);
  });
  input.addEventListener('blur', () => finish(true));
  title.replaceWith(input);
  input.focus();
  input.select();
}

function button(text, label, onClick) {
  const element = Object.assign(document.createElement('button'), { type: 'button', textContent: text });
  element.dataset.action = label;
  element.addEventListener('click', onClick);
  return element;
}

// The demo page's list of lists: read from a search view of list summaries, then kept current by a
// push feed of the same summaries on one channel, followed from the position the read answered.
// The last known lists are kept in localStorage, so the page shows them offline too.

import { subscribe } from './feed.js';

const STORAGE_KEY = 'unbundled:lists';

/** The known lists by id ({id, title, todos, done}), current through the feed. */
export class ListDirectory {
  #index;
  #feed;
  #subscription = null;
  #onchange;
  #generation = 0;
  #drawing = false;

  /** @param {{index: string, feed: string, onchange: (lists: Map<string, object>) => void}} options */
  constructor({ index, feed, onchange }) {
    this.#index = index;
    this.#feed = feed;
    this.#onchange = onchange;
    /** @type {Map<string, {id: string, title: string, todos: number, done: number}>} */
    this.lists = new Map(JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]').map((list) => [list.id, list]));
  }

  /** Reads the summaries (offline: keeps the stored ones) and follows their feed; reads again when the network returns. */
  async open() {
    addEventListener('online', () => this.#reopen());
    addEventListener('offline', () => {
      this.#generation++;
      this.#subscription?.close();
      this.#subscription = null;
    });
    await this.#reopen();
  }

  // A feed started offline would wait for EventSource's own retry; back online, read and follow anew.
  async #reopen() {
    const generation = ++this.#generation;
    this.#subscription?.close();
    this.#subscription = null;
    this.#onchange(this.lists);
    let after = null;
    try {
      const response = await fetch(`/search/${encodeURIComponent(this.#index)}?q=${encodeURIComponent('*:*')}&limit=1000`);
      if (generation !== this.#generation) return;
      if (response.ok) {
        const answer = await response.json();
        this.lists = new Map(answer.hits.map((hit) => [hit.key, { ...hit.document, id: hit.key }]));
        after = answer.offset;
        this.#changed();
      }
    } catch {
      // Offline: the stored lists stand until the network returns (and 'online' reads again).
      return;
    }
    if (generation !== this.#generation) return;
    this.#subscription = subscribe(`/feeds/${encodeURIComponent(this.#feed)}`, {
      channel: 'lists',
      after: after ?? 0,
      onMessage: (message) => {
        if (message.type === 'must-refetch') this.#reopen();
        if (message.type !== 'change') return;
        if (message.op === 'delete') this.lists.delete(message.key);
        else this.lists.set(message.key, { ...message.document, id: message.key });
        this.#changed();
      },
    });
  }

  /** Shows a list this page just created or renamed before the views have caught up with it. */
  note(id, title) {
    const known = this.lists.get(id);
    this.lists.set(id, { todos: 0, done: 0, ...known, id, title });
    this.#changed();
  }

  /** Forgets a list this page just deleted. */
  forget(id) {
    this.lists.delete(id);
    this.#changed();
  }

  // Every change of every list comes through here; a burst is drawn and stored once per frame, so
  // a busy server does not keep each open page redrawing the sidebar.
  #changed() {
    if (this.#drawing) return;
    this.#drawing = true;
    requestAnimationFrame(() => {
      this.#drawing = false;
      localStorage.setItem(STORAGE_KEY, JSON.stringify([...this.lists.values()]));
      this.#onchange(this.lists);
    });
  }
}

/** Renders the lists, sorted by title, with the current one marked. */
export function renderLists(element, lists, current, { open }) {
  const sorted = [...lists.values()].sort((a, b) => String(a.title ?? a.id).localeCompare(String(b.title ?? b.id)));
  element.replaceChildren(...sorted.map((list) => {
    const li = document.createElement('li');
    const link = Object.assign(document.createElement('a'), { href: `?list=${encodeURIComponent(list.id)}` });
    link.dataset.id = list.id;
    if (list.id === current) link.setAttribute('aria-current', 'page');
    const name = Object.assign(document.createElement('span'), { textContent: list.title ?? list.id });
    const count = Object.assign(document.createElement('span'), { className: 'count', textContent: `${list.done ?? 0}/${list.todos ?? 0}` });
    count.setAttribute('aria-label', `${list.done ?? 0} of ${list.todos ?? 0} done`);
    link.append(name, count);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      open(list.id);
    });
    li.append(link);
    return li;
  }));
}

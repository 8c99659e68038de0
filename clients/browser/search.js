// The demo page's search box over the todo search view (GET /search/{pipeline}), reading its own
// writes: each query asks the view to have reached the position of this page's last flush first.

const SPECIAL = /[+\-&|!(){}[\]^"~*?:\\/]/g;

/** Turns typed words into a Lucene query: every word must match, the last one also as a prefix. */
export function toQuery(text) {
  const words = text.trim().split(/\s+/).filter(Boolean).map((word) => word.replace(SPECIAL, '\\$&'));
  if (words.length === 0) return null;
  const last = words.pop();
  return [...words, `(${last} OR ${last.toLowerCase()}*)`].join(' ');
}

/**
 * Wires a search input to a result list. `position()` gives the log position to read at;
 * `open(listId)` is called when a hit is chosen.
 */
export function searchBox({ input, results, pipeline, position, open }) {
  let timer = null;
  let asked = 0;
  const run = async () => {
    const query = toQuery(input.value);
    const ticket = ++asked;
    if (!query) {
      results.replaceChildren();
      return;
    }
    const parameters = new URLSearchParams({ q: query, limit: '20', atPosition: String(position()), timeoutMs: '2000' });
    let items;
    try {
      const response = await fetch(`/search/${encodeURIComponent(pipeline)}?${parameters}`);
      const answer = await response.json();
      items = response.ok ? answer.hits.map((hit) => hitItem(hit.document, open)) : [note(answer.detail ?? 'search failed')];
    } catch {
      items = [note('search needs the network')];
    }
    if (ticket === asked) results.replaceChildren(...(items.length ? items : [note('no todo matches')]));
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  input.form?.addEventListener('submit', (event) => {
    event.preventDefault();
    run();
  });
  return { refresh: () => (input.value ? run() : undefined) };
}

function hitItem(todo, open) {
  const li = document.createElement('li');
  const link = Object.assign(document.createElement('a'), { href: `?list=${encodeURIComponent(todo.listId)}`, textContent: todo.title });
  if (todo.done) link.append(' ✓');
  link.addEventListener('click', (event) => {
    event.preventDefault();
    open(todo.listId);
  });
  const where = Object.assign(document.createElement('div'), {
    className: 'where',
    textContent: `in ${todo.listTitle ?? todo.listId}${todo.createdBy ? ` · by ${todo.createdBy}` : ''}`,
  });
  li.append(link, where);
  return li;
}

function note(text) {
  return Object.assign(document.createElement('li'), { className: 'muted', textContent: text });
}

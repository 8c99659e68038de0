// The status page: follows /status/feed (Server-Sent Events, read through fetch so that it can carry the
// administrator's credential, which EventSource cannot) and draws every pipeline from it. Dead letters,
// their replay and rebuilds go through the admin API with the same credential.

const CREDENTIAL = 'unbundled.status.credential';
const HISTORY = 120; // samples, one a second: two minutes of sparkline
const cards = new Map();
const histories = new Map();
const format = new Intl.NumberFormat('en');

const connection = document.getElementById('connection');
const login = document.getElementById('login');
const main = document.getElementById('pipelines');

function headers(extra = {}) {
  const credential = sessionStorage.getItem(CREDENTIAL);
  if (!credential) return extra;
  return { ...extra, Authorization: /^(Bearer|ApiKey) /i.test(credential) ? credential : `ApiKey ${credential}` };
}

function setConnection(state, text) {
  connection.dataset.state = state;
  connection.textContent = text;
}

async function follow() {
  let delay = 500;
  for (;;) {
    try {
      const response = await fetch('/status/feed', { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store' });
      if (response.status === 401 || response.status === 403) {
        setConnection('refused', response.status === 401 ? 'a credential is needed' : 'this credential is not an administrator’s');
        login.hidden = false;
        return;
      }
      if (!response.ok) throw new Error(`the status feed answered ${response.status}`);
      login.hidden = true;
      delay = 500;
      await readEvents(response.body, (event, data) => {
        if (event !== 'status') return;
        const snapshot = JSON.parse(data);
        render(snapshot);
        setConnection('live', `live · ${new Date(snapshot.at).toLocaleTimeString()}`);
      });
    } catch (error) {
      console.warn('status feed', error);
    }
    setConnection('reconnecting', 'reconnecting…');
    await new Promise(resolve => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

// Server-Sent Events framing: blocks end with a blank line; "event:" names one, "data:" lines carry it.
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
      let event = 'message';
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
  }
}

function render(snapshot) {
  const seen = new Set();
  for (const { status, route } of snapshot.pipelines) {
    seen.add(status.name);
    const history = remember(status, Date.parse(snapshot.at));
    draw(cardOf(status.name), status, route, history);
  }
  for (const [name, card] of cards) {
    if (!seen.has(name)) {
      card.remove();
      cards.delete(name);
      histories.delete(name);
    }
  }
}

function remember(status, at) {
  const history = histories.get(status.name) ?? [];
  history.push({ at, rate: status.eventsPerSecond, lag: status.lagEvents, rebuilt: status.rebuild?.offset ?? null });
  if (history.length > HISTORY) history.shift();
  histories.set(status.name, history);
  return history;
}

function cardOf(name) {
  if (cards.has(name)) return cards.get(name);
  const card = document.getElementById('pipeline-card').content.firstElementChild.cloneNode(true);
  card.dataset.pipeline = name;
  card.setAttribute('aria-label', `pipeline ${name}`);
  card.querySelector('.show-letters').addEventListener('click', () => toggleLetters(card, name));
  card.querySelector('.replay-all').addEventListener('click', () => replay(card, name, { all: true }));
  card.querySelector('.rebuild-view').addEventListener('click', () => rebuild(card, name));
  const after = [...cards.keys()].sort().find(other => other > name);
  main.insertBefore(card, after ? cards.get(after) : null);
  cards.set(name, card);
  return card;
}

function text(card, selector, value) {
  const element = card.querySelector(selector);
  if (element.textContent !== value) element.textContent = value;
}

function draw(card, status, route, history) {
  text(card, '.name', status.name);
  const state = card.querySelector('.state');
  state.dataset.state = status.state;
  text(card, '.state', status.stale ? `${status.state} · stale definition` : status.state);
  const owner = status.owner ? ` · on ${status.owner}` : '';
  text(card, '.route', route
    ? `${route.source} (${route.sourceConnector}) → ${route.sink} (${route.sinkConnector}) · generation ${status.generation}${owner}`
    : `generation ${status.generation}${owner}`);
  text(card, '.offset', format.format(status.offset));
  text(card, '.head', format.format(status.head));
  text(card, '.lag', status.lagEvents === 0 ? '0' : `${format.format(status.lagEvents)} (${status.lagSeconds} s)`);
  text(card, '.rate', `${format.format(status.eventsPerSecond)}/s`);
  text(card, '.events', format.format(status.events));
  text(card, '.errors', format.format(status.errors));
  spark(card.querySelector('.rate-spark'), history.map(h => h.rate), `events per second over the last ${history.length} s, now ${status.eventsPerSecond}`);
  spark(card.querySelector('.lag-spark'), history.map(h => h.lag), `lag over the last ${history.length} s, now ${status.lagEvents}`);
  drawHealth(card, status);
  drawRebuild(card, status, history);
  drawSource(card, status.source);
  const letters = card.querySelector('.show-letters');
  letters.hidden = status.deadLetters === 0;
  text(card, '.show-letters', `${format.format(status.deadLetters)} dead letter${status.deadLetters === 1 ? '' : 's'}`);
  if (!card.querySelector('.letters').hidden && card.dataset.letters !== String(status.deadLetters)) loadLetters(card, status.name);
  card.dataset.letters = String(status.deadLetters);
}

function spark(svg, values, label) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 240 / (HISTORY - 1) : 0;
  const start = 240 - step * (values.length - 1);
  const points = values.map((value, i) => `${(start + i * step).toFixed(1)},${(38 - (value / max) * 36).toFixed(1)}`).join(' ');
  svg.querySelector('polyline').setAttribute('points', points);
  svg.setAttribute('aria-label', label);
}

function drawHealth(card, status) {
  const health = card.querySelector('.sink-health');
  const trouble = [];
  if (status.state === 'Retrying') trouble.push(`Retrying its sink with backoff: ${status.lastError ?? 'unknown error'}`);
  else if (status.state === 'Faulted') trouble.push(`Stopped: ${status.lastError ?? 'unknown error'}`);
  if (status.source?.error) trouble.push(`Source out of reach: ${status.source.error}`);
  if (status.repairs > 0 && status.lastRepair) trouble.push(`Repaired ${status.repairs}×: ${status.lastRepair}`);
  health.hidden = trouble.length === 0;
  text(card, '.sink-health', trouble.join(' · '));
}

function drawRebuild(card, status, history) {
  const box = card.querySelector('.rebuild');
  box.hidden = !status.rebuild;
  if (!status.rebuild) return;
  const { generation, offset } = status.rebuild;
  const share = status.head > 0 ? Math.min(1, offset / status.head) : 0;
  card.querySelector('.rebuild-progress').value = share;
  // The ETA comes from how fast the rebuild's offset moved over the samples that have one.
  const samples = history.filter(h => h.rebuilt !== null).slice(-20);
  let eta = 'estimating…';
  if (samples.length > 1) {
    const [first, last] = [samples[0], samples[samples.length - 1]];
    const speed = (last.rebuilt - first.rebuilt) / ((last.at - first.at) / 1000);
    if (speed > 0) eta = `about ${duration((status.head - offset) / speed)} left at ${format.format(Math.round(speed))}/s`;
  }
  text(card, '.rebuild-text', `Rebuilding generation ${generation}: ${format.format(offset)} of ${format.format(status.head)} (${Math.round(share * 100)}%) · ${eta}`);
}

function duration(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function drawSource(card, source) {
  const detail = card.querySelector('.source-detail');
  const entries = Object.entries(source ?? {}).filter(([name]) => name !== 'error');
  detail.hidden = entries.length === 0;
  const wanted = entries.map(([name, value]) => `${name}=${value}`).join('\n');
  if (detail.dataset.shown === wanted) return;
  detail.dataset.shown = wanted;
  detail.replaceChildren(...entries.flatMap(([name, value]) => {
    const term = document.createElement('dt');
    term.textContent = name;
    const definition = document.createElement('dd');
    definition.textContent = value;
    return [term, definition];
  }));
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: headers(body ? { 'Content-Type': 'application/json' } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(answer?.detail ?? `${method} ${path} answered ${response.status}`);
  return answer;
}

function say(card, message) {
  text(card, '.outcome', message);
}

async function toggleLetters(card, name) {
  const letters = card.querySelector('.letters');
  letters.hidden = !letters.hidden;
  card.querySelector('.show-letters').setAttribute('aria-expanded', String(!letters.hidden));
  if (!letters.hidden) await loadLetters(card, name);
}

async function loadLetters(card, name) {
  try {
    const page = await api('GET', `/pipelines/${encodeURIComponent(name)}/dead-letters?limit=50`);
    card.querySelector('.letters tbody').replaceChildren(...page.deadLetters.map(letter => letterRow(card, name, letter)));
  } catch (error) {
    say(card, error.message);
  }
}

function letterRow(card, name, letter) {
  const row = document.createElement('tr');
  row.dataset.id = String(letter.id);
  for (const [value, kind] of [[letter.id, 'id'], [letter.key, 'key'], [letter.position, 'position'], [letter.reason, 'reason']]) {
    const cell = document.createElement('td');
    cell.className = kind;
    cell.textContent = String(value);
    row.append(cell);
  }
  const actions = document.createElement('td');
  const replayOne = document.createElement('button');
  replayOne.type = 'button';
  replayOne.className = 'replay';
  replayOne.textContent = 'Replay';
  replayOne.addEventListener('click', () => replay(card, name, { ids: [letter.id] }));
  const drop = document.createElement('button');
  drop.type = 'button';
  drop.className = 'drop';
  drop.textContent = 'Drop';
  drop.addEventListener('click', async () => {
    try {
      await api('DELETE', `/pipelines/${encodeURIComponent(name)}/dead-letters/${letter.id}`);
      say(card, `dropped dead letter ${letter.id}`);
      await loadLetters(card, name);
    } catch (error) {
      say(card, error.message);
    }
  });
  actions.append(replayOne, ' ', drop);
  row.append(actions);
  return row;
}

async function replay(card, name, selection) {
  say(card, 'replaying through the current definition…');
  try {
    const outcome = await api('POST', `/pipelines/${encodeURIComponent(name)}/dead-letters/replay`, selection);
    say(card, `replayed: ${outcome.replayed} written, ${outcome.failedAgain} failed again`);
    await loadLetters(card, name);
  } catch (error) {
    say(card, error.message);
  }
}

async function rebuild(card, name) {
  try {
    await api('POST', `/pipelines/${encodeURIComponent(name)}/rebuild`);
    say(card, 'rebuild requested: a new generation is built beside the live view');
  } catch (error) {
    say(card, error.message);
  }
}

login.addEventListener('submit', event => {
  event.preventDefault();
  sessionStorage.setItem(CREDENTIAL, document.getElementById('credential').value.trim());
  setConnection('connecting', 'connecting…');
  follow();
});

follow();

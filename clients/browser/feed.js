// Push feeds (docs/feeds.md) for the browser, over EventSource.

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
